"""PyTorch peer for `npm run bench`: CPU BatchNorm2d on the same shape, median milliseconds.

Usage: /usr/bin/python3 scripts/bench_torch.py 64,64,32,32 15   (prints one JSON object)
"""
import json
import statistics
import sys
import time

import torch

shape = [int(v) for v in sys.argv[1].split(",")]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 15
torch.manual_seed(0)
x = torch.randn(*shape, dtype=torch.float32, requires_grad=True)
dy = torch.randn(*shape, dtype=torch.float32)
bn = torch.nn.BatchNorm2d(shape[1]) if len(shape) == 4 else torch.nn.BatchNorm1d(shape[1])


def median_ms(fn):
    for _ in range(3):
        fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def forward():
    with torch.no_grad():
        bn(x)


def forward_backward():
    x.grad = None
    bn.zero_grad()
    bn(x).backward(dy)


print(json.dumps({
    "forward_ms": median_ms(forward),
    "forward_backward_ms": median_ms(forward_backward),
    "threads": torch.get_num_threads(),
}))
