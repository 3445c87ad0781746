"""PyTorch side of `bench/unet.ts`: the same computations with the twin interop/pytorch/unet3d.py.
Usage: python unet_reference.py JOB.json  (JOB written by bench/unet.ts; run with the reference python,
torch.backends.referencePython()). Prints one JSON object.

JOB.precision 'fp32' or 'bf16-mixed' (the forward under torch.autocast(device, bfloat16), the loss in float32);
JOB.device 'cpu' or 'cuda[:N]'; JOB.compile: wrap the model in torch.compile (a reference figure only)."""
import contextlib
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


def main(job):
    torch.set_num_threads(job["threads"])
    dev = torch.device(job["device"])
    cuda = dev.type == "cuda"
    sync = (lambda: torch.cuda.synchronize(dev)) if cuda else (lambda: None)
    amp = job["precision"] == "bf16-mixed"

    def autocast():
        return torch.autocast(dev.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()

    def best_ms(fn, repeats):
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            sync()
            best = min(best, (time.perf_counter() - t) * 1e3)
        return best

    net = UNet3D(job["config"])
    net.load_state_dict(load_safetensors(job["weights"]), strict=True)
    net.to(dev)
    model = torch.compile(net) if job.get("compile") else net
    f, h, w = job["frames"], job["height"], job["width"]
    C = job["config"]["inChannels"]

    eval_ms = {}
    net.eval()
    for b in job["evalBatches"]:
        torch.manual_seed(job["seed"])
        x = torch.randn(b, C, f, h, w).to(dev)
        ls = torch.linspace(-5, 5, b).to(dev)

        def run():
            with torch.no_grad(), autocast():
                model(x, ls)
        run()
        eval_ms[f"batch{b}"] = best_ms(run, job["evalRepeats"][str(b)])

    # a guided evaluation (reconstruction guidance): forward with a graph, gradient of the known half's squared
    # errors with respect to the input
    guided_ms = {}
    for b in job["evalBatches"]:
        torch.manual_seed(job["seed"])
        x = torch.randn(b, C, f, h, w).to(dev)
        ls = torch.linspace(-5, 5, b).to(dev)
        known = torch.randn(b, C, f // 2, h, w).to(dev)

        def guided():
            z = x.detach().requires_grad_(True)
            with autocast():
                out = model(z, ls)
            loss = (out.float()[:, :, : f // 2] - known).square().sum()
            torch.autograd.grad(loss, z)
        guided()
        guided_ms[f"batch{b}"] = best_ms(guided, job["evalRepeats"][str(b)])

    # the seed's v-loss (eqs. 2.71-2.72), t ~ U(0, 1) on the truncated cosine (2.64-2.69), AdamW, clip, EMA
    net.train()
    torch.manual_seed(job["seed"])
    B = job["trainBatch"]
    data = torch.randn(B, C, f, h, w).to(dev)
    params = list(net.parameters())
    opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=0.01)
    with torch.no_grad():
        ema = [p.detach().clone() for p in params]
    t_min = math.atan(math.exp(-LOGSNR_MAX / 2))
    t_max = math.atan(math.exp(-LOGSNR_MIN / 2))
    losses = []

    def step():
        t = torch.rand(B).to(dev)
        logsnr = (t * (t_max - t_min) + t_min).tan().log() * -2
        eps = torch.randn(data.shape).to(dev)
        alpha = logsnr.sigmoid().sqrt().view(-1, 1, 1, 1, 1)
        sigma = (-logsnr).sigmoid().sqrt().view(-1, 1, 1, 1, 1)
        z = alpha * data + sigma * eps
        v = alpha * eps - sigma * data
        with autocast():
            out = model(z, logsnr)
        loss = (out.float() - v).square().mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.lerp_(p.detach(), 0.01)
        losses.append(loss.item())

    t0 = time.perf_counter()
    step()
    first_step_ms = (time.perf_counter() - t0) * 1e3  # with torch.compile: the compilation
    train_ms = float("inf")  # the fastest step: on a shared machine, noise only ever adds time
    for _ in range(job["trainSteps"]):
        t0 = time.perf_counter()
        step()
        sync()
        train_ms = min(train_ms, (time.perf_counter() - t0) * 1e3)
    out = {"eval_ms": eval_ms, "guided_ms": guided_ms, "train_step_ms": train_ms, "train_losses": losses, "first_step_ms": first_step_ms,
           "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if cuda:
        out["max_gpu_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        print(json.dumps(main(json.load(fh))))
