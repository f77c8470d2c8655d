"""PyTorch peer of the BN kernel figures in `npm run bench`: CPU BatchNorm on one shape, in a
process that stays up so that its rounds alternate with ours (src/experiments/kernel-bench.ts).

Usage: /usr/bin/python3 scripts/bench_torch_bn.py 64,64,32,32 1
  (shape, intra-op threads). Prints one JSON line when ready ({"threads", "torch"}), then for every
  line "round R" read on stdin times R repetitions of the forward and of forward+backward after
  one warm-up each, and prints {"forward_ms": [...], "forward_backward_ms": [...]}. Ends at EOF.

Forward is BatchNorm2d (1d for 2-D shapes) in train mode without autograd: batch statistics,
running statistics and the normalized output. Forward+backward is the same with autograd and
`.backward(dy)`: what a training step of the layer costs, allocations included, as ours does.
"""
import json
import sys
import time

import torch

shape = [int(v) for v in sys.argv[1].split(",")]
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
torch.manual_seed(0)
x = torch.randn(*shape, dtype=torch.float32, requires_grad=True)
dy = torch.randn(*shape, dtype=torch.float32)
bn = torch.nn.BatchNorm2d(shape[1]) if len(shape) == 4 else torch.nn.BatchNorm1d(shape[1])


def forward():
    with torch.no_grad():
        bn(x)


def forward_backward():
    x.grad = None
    bn.zero_grad()
    bn(x).backward(dy)


def samples(fn, reps):
    fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


print(json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
for line in sys.stdin:
    words = line.split()
    if len(words) != 2 or words[0] != "round":
        print(json.dumps({"error": f"unknown command {line.strip()!r}"}), flush=True)
        continue
    reps = int(words[1])
    print(json.dumps({"forward_ms": samples(forward, reps), "forward_backward_ms": samples(forward_backward, reps)}), flush=True)
