"""PyTorch peer of the training benchmark: BN-LeNet (the lecture's network) on CPU, plain SGD,
forward + backward + step on random 1x28x28 images, one process.

Usage: /usr/bin/python3 scripts/bench_torch_lenet.py STEPS [BATCH [THREADS]]
       (batch 256 and torch's default thread count unless given; prints one JSON object)
"""
import json
import sys
import time

import torch
from torch import nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 40
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 256
if len(sys.argv) > 3:
    torch.set_num_threads(int(sys.argv[3]))
torch.manual_seed(0)
net = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Flatten(),
    nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
    nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
    nn.Linear(84, 10),
)
optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
loss_fn = nn.CrossEntropyLoss()
x = torch.rand(batch, 1, 28, 28)
y = torch.randint(0, 10, (batch,))


def step():
    optimizer.zero_grad()
    loss_fn(net(x), y).backward()
    optimizer.step()


for _ in range(5):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
seconds = time.perf_counter() - t0
print(json.dumps({"examples_per_second": steps * batch / seconds, "threads": torch.get_num_threads(), "batch": batch}))
