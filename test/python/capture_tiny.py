#!/usr/bin/python3
"""Used by test/captured-activations.test.ts: captures a tiny model with every kind of BN layer.

    capture_tiny.py OUT.npz

BatchNorm1d on [N,C] and on [N,C,L], BatchNorm2d, BatchNorm3d and SyncBatchNorm (whose forward
needs a GPU and a process group, so this CPU test gives it BatchNorm's forward: the hook under test
sees the module, its type and its input exactly as on a GPU), two steps through capture()'s
train_step, with a backward and an SGD step each. Prints the manifest as JSON and, for each layer,
the float64 sum of its first step's input (checked against what the simulator reads back), and
what capture() says of a model without BN layers.
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'python'))
from syncbn_capture import capture  # noqa: E402


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv3 = nn.Conv3d(1, 2, 1)
        self.bn3d = nn.BatchNorm3d(2)
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.bn2d = nn.BatchNorm2d(3)
        self.sync = nn.SyncBatchNorm(3)
        self.sync.forward = lambda x: nn.functional.batch_norm(
            x, self.sync.running_mean, self.sync.running_var, self.sync.weight, self.sync.bias, True, 0.1, 1e-5)
        self.seq = nn.BatchNorm1d(3)
        self.fc = nn.Linear(3 * 4, 5)
        self.bn1d = nn.BatchNorm1d(5)

    def forward(self, x):                      # x: [N, 1, 2, 4, 4]
        x = self.bn3d(self.conv3(x))           # [N, 2, 2, 4, 4]
        x = x.mean(dim=2)                      # [N, 2, 4, 4]
        x = self.sync(self.bn2d(self.conv(x)))  # [N, 3, 4, 4]
        x = self.seq(x.mean(dim=3))            # [N, 3, 4] (a sequence of length 4)
        return self.bn1d(self.fc(x.flatten(1)))


def main():
    torch.manual_seed(0)
    model = Tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [torch.randn(6, 1, 2, 4, 4) for _ in range(3)]

    def step(m, x):
        opt.zero_grad()
        m(x).pow(2).mean().backward()
        opt.step()

    manifest = capture(model, batches, sys.argv[1], steps=2, train_step=step)
    import numpy as np
    z = np.load(sys.argv[1])
    sums = {l['name']: float(z[l['members'][0][:-4]].astype(np.float64).sum()) for l in manifest['layers']}
    try:
        capture(nn.Linear(2, 2), [torch.randn(3, 2)], sys.argv[1] + '.none.npz')
        refusal = None
    except ValueError as e:
        refusal = str(e)
    print(json.dumps({'manifest': manifest, 'sums': sums, 'no_bn_refusal': refusal}))


if __name__ == '__main__':
    main()
