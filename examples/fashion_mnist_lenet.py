"""A model and data for python/syncbn_capture.py: BN-LeNet on Fashion-MNIST (Debian's
dataset-fashion-mnist), trained for a few hundred steps first so that the activations are those
of a network that has learned something, as a researcher's own model would be.

    cd examples && /usr/bin/python3 ../python/syncbn_capture.py \
        --model fashion_mnist_lenet:model --data fashion_mnist_lenet:batches --steps 4 --out ../acts.npz
"""
import gzip
import os

import numpy as np
import torch
from torch import nn

DATA = os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist')
BATCH = 64


def images_and_labels():
    with gzip.open(os.path.join(DATA, 'train-images-idx3-ubyte.gz')) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(DATA, 'train-labels-idx1-ubyte.gz')) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.tensor(x, dtype=torch.float32) / 255.0, torch.tensor(y, dtype=torch.long)


def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(), nn.Linear(84, 10))


def model(steps=300, seed=0):
    """BN-LeNet after `steps` SGD steps (lr 1.0, batch 64) on Fashion-MNIST."""
    torch.manual_seed(seed)
    net = lenet_bn()
    x, y = images_and_labels()
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (BATCH,), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    return net


def batches(seed=1):
    """Shuffled batches of 64 training images, as a DataLoader would give them."""
    x, y = images_and_labels()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    for i in range(0, len(x) - BATCH + 1, BATCH):
        idx = order[i:i + BATCH]
        yield x[idx], y[idx]
