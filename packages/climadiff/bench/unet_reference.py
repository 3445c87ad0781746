"""PyTorch side of `bench/unet.ts`: the same computations with the twin interop/pytorch/unet3d.py.
Usage: /usr/bin/python3 unet_reference.py JOB.json  (JOB written by bench/unet.ts). Prints one JSON object."""
import json
import math
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "interop", "pytorch"))
import torch  # noqa: E402
from unet3d import UNet3D, load_safetensors  # noqa: E402

LOGSNR_MIN, LOGSNR_MAX = -20.0, 20.0


def best_ms(fn, repeats, inner):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t) / inner * 1e3)
    return best


def main(job):
    torch.set_num_threads(job["threads"])
    model = UNet3D(job["config"])
    model.load_state_dict(load_safetensors(job["weights"]), strict=True)
    f, h, w = job["frames"], job["height"], job["width"]
    C = job["config"]["inChannels"]

    eval_ms = {}
    model.eval()
    for b in job["evalBatches"]:
        torch.manual_seed(job["seed"])
        x = torch.randn(b, C, f, h, w)
        ls = torch.linspace(-5, 5, b)

        def run():
            with torch.no_grad():
                model(x, ls)
        run()
        eval_ms[f"batch{b}"] = best_ms(run, 9 if b == 1 else 4, 1)

    # the seed's v-loss (eqs. 2.71-2.72), t ~ U(0, 1) on the truncated cosine (2.64-2.69), AdamW, clip, EMA
    model.train()
    torch.manual_seed(job["seed"])
    B = job["trainBatch"]
    data = torch.randn(B, C, f, h, w)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=0.01)
    with torch.no_grad():
        ema = [p.detach().clone() for p in params]
    t_min = math.atan(math.exp(-LOGSNR_MAX / 2))
    t_max = math.atan(math.exp(-LOGSNR_MIN / 2))
    losses = []

    def step():
        t = torch.rand(B)
        logsnr = (t * (t_max - t_min) + t_min).tan().log() * -2
        eps = torch.randn_like(data)
        alpha = logsnr.sigmoid().sqrt().view(-1, 1, 1, 1, 1)
        sigma = (-logsnr).sigmoid().sqrt().view(-1, 1, 1, 1, 1)
        z = alpha * data + sigma * eps
        v = alpha * eps - sigma * data
        loss = (model(z, logsnr) - v).square().mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.lerp_(p.detach(), 0.01)
        losses.append(loss.item())

    step()
    train_ms = float("inf")  # the fastest step: on a shared machine, noise only ever adds time
    for _ in range(job["trainSteps"]):
        t0 = time.perf_counter()
        step()
        train_ms = min(train_ms, (time.perf_counter() - t0) * 1e3)
    return {"eval_ms": eval_ms, "train_step_ms": train_ms, "train_losses": losses,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        print(json.dumps(main(json.load(fh))))
