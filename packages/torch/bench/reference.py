# PyTorch reference for `npm run bench`: the same workloads as bench.ts, on the reference python's
# PyTorch (the same libtorch engine the addon links), at the same thread count. Prints one JSON object.
import json, sys, time
import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)

def best_of(fn, repeats, inner):
    best = float('inf')
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t) / inner)
    return best

out = {'threads': torch.get_num_threads(), 'torch': torch.__version__}

# (a) per-call overhead of a small op
a = torch.ones(4); b = torch.ones(4)
out['add4_us'] = best_of(lambda: torch.add(a, b), 9, 100000) * 1e6

# (b) conv3d forward + backward
torch.manual_seed(0)
x = torch.randn(4, 32, 8, 32, 32, requires_grad=True)
w = torch.randn(32, 32, 1, 3, 3, requires_grad=True)
bias = torch.zeros(32, requires_grad=True)
def conv_step():
    y = F.conv3d(x, w, bias, padding=(0, 1, 1))
    y.backward(torch.ones_like(y))
for _ in range(3): conv_step()
out['conv3d_ms'] = best_of(conv_step, 9, 5) * 1e3

# (c) 20-step training loop of a small 3D conv net (conv-silu-conv-silu-conv, MSE, plain SGD)
torch.manual_seed(0)
params = [torch.randn(16, 4, 1, 3, 3) * 0.1, torch.zeros(16), torch.randn(16, 16, 1, 3, 3) * 0.1, torch.zeros(16),
          torch.randn(4, 16, 1, 3, 3) * 0.1, torch.zeros(4)]
for p in params: p.requires_grad_()
data = torch.randn(4, 4, 8, 32, 32); target = torch.randn(4, 4, 8, 32, 32)
def train_step():
    h = F.silu(F.conv3d(data, params[0], params[1], padding=(0, 1, 1)))
    h = F.silu(F.conv3d(h, params[2], params[3], padding=(0, 1, 1)))
    y = F.conv3d(h, params[4], params[5], padding=(0, 1, 1))
    loss = (y - target).square().mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=0.01)
            p.grad = None
    return loss
for _ in range(3): train_step()
out['train_step_ms'] = best_of(train_step, 5, 20) * 1e3
print(json.dumps(out))
