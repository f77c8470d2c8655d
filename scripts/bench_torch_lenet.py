"""PyTorch peer of the training benchmark: BN-LeNet (the lecture's network) on CPU, batch 256,
plain SGD, forward + backward + step on random 1x28x28 images, one process.

Usage: /usr/bin/python3 scripts/bench_torch_lenet.py STEPS   (prints one JSON object)
"""
import json
import sys
import time

import torch
from torch import nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 40
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
x = torch.rand(256, 1, 28, 28)
y = torch.randint(0, 10, (256,))


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
print(json.dumps({"examples_per_second": steps * 256 / seconds, "threads": torch.get_num_threads()}))
