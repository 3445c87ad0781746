"""PyTorch side of bench/ddp.ts: one rank of torch.nn.parallel.DistributedDataParallel (Gloo) on the twin U-Net
(interop/pytorch/unet3d.py) with the same job: the gradient-sized all-reduce alone, then DDP training steps.
Usage: RANK=r WORLD_SIZE=w MASTER_ADDR=... MASTER_PORT=... python ddp_reference.py JOB.json. Prints one JSON object."""
import json
import os
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "interop", "pytorch"))
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402
from unet3d import UNet3D, load_safetensors  # noqa: E402


def main(job):
    torch.set_num_threads(job["threads"])
    dist.init_process_group("gloo", timeout=timedelta(seconds=600))
    rank = dist.get_rank()
    net = UNet3D(job["config"])
    net.load_state_dict(load_safetensors(job["weights"]), strict=True)
    n = sum(p.numel() for p in net.parameters())
    buf = torch.ones(n)
    allreduce = None
    for r in range(job["allreduceRepeats"]):
        dist.barrier()
        t = time.perf_counter()
        dist.all_reduce(buf)
        ms = (time.perf_counter() - t) * 1e3
        if r > 0:
            allreduce = ms if allreduce is None else min(allreduce, ms)
    ddp = DistributedDataParallel(net)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    torch.manual_seed(1 + rank)
    C = job["config"]["inChannels"]
    x = torch.randn(job["batch"], C, job["frames"], job["height"], job["width"])
    logsnr = torch.linspace(-5, 5, job["batch"])
    best = float("inf")
    for s in range(job["steps"]):
        dist.barrier()
        t = time.perf_counter()
        out = ddp(x, logsnr)
        (out - x).square().mean().backward()
        opt.step()
        opt.zero_grad()
        if s > 0:
            best = min(best, (time.perf_counter() - t) * 1e3)
    dist.destroy_process_group()
    print(json.dumps({"allreduce_ms": allreduce, "step_ms": best, "params": n}))


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        main(json.load(f))
