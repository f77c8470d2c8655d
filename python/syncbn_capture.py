#!/usr/bin/env python3
"""Capture what every batch-norm layer of a PyTorch model sees, for ``syncbn-sim``.

Point it at your own model and data: it hooks every ``BatchNorm1d``, ``BatchNorm2d``,
``BatchNorm3d`` and ``SyncBatchNorm`` (any subclass of ``torch.nn.modules.batchnorm._BatchNorm``),
and saves each layer's *input* for a few steps to one ``.npz`` that ``syncbn-sim compare --input``
and ``syncbn-sim noise --input`` read. Needs only ``torch`` and ``numpy``.

As a library, around your own training loop::

    from syncbn_capture import Capture
    with Capture(model, 'acts.npz', steps=3) as cap:
        for x, y in loader:
            loss = criterion(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            if cap.step():          # True once `steps` steps are recorded
                break

or in one call, ``capture(model, batches, 'acts.npz', steps=3, train_step=None)`` (``batches``
yields model inputs, or ``(input, target)`` pairs whose first item is fed to the model).

From the shell::

    python3 python/syncbn_capture.py --model mypkg.models:build --data mypkg.data:batches --out acts.npz
    python3 python/syncbn_capture.py --demo --out acts.npz      # a small CNN on smooth images

``--model MOD:FN`` calls ``FN()`` for the model; ``--data MOD:FN`` calls ``FN()`` for an iterable
of batches. Only forward passes run (in train mode unless ``--eval``): no weights change.

The archive (a zip, as ``numpy.savez`` writes; ``--compress`` deflates the members) holds one
``.npy`` per layer and step, named ``acts/LLL/stepSSS.npy``, and ``manifest.json``::

    {"format": "syncbn-capture", "version": 1, "torch": "2.x", "numpy": "1.x", "mode": "train",
     "steps": 3,
     "layers": [{"name": "features.1", "type": "BatchNorm2d", "num_features": 8,
                 "shape": [16, 8, 8, 8], "dtype": "float32",
                 "steps": [0, 1, 2], "members": ["acts/000/step000.npy", ...],
                 "shapes": [[16, 8, 8, 8], ...]}]}

``shape`` is the first step's; ``shapes`` every step's (a last batch may be smaller). Inputs in
float16 or bfloat16 are stored as float32 (the manifest's ``dtype`` says what the layer saw).
``numpy.load('acts.npz')['acts/000/step000']`` reads a member back.
"""
import argparse
import importlib
import io
import json
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

FORMAT = 'syncbn-capture'
VERSION = 1
#: Refuse captures above this many bytes of activations (before compression).
DEFAULT_MAX_BYTES = 1 << 30


def batch_norm_layers(model):
    """Every batch-norm module of ``model`` as ``(name, module)``, in registration order."""
    return [(name or '(model)', m) for name, m in model.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class Capture:
    """Records the input of every batch-norm layer of ``model`` for ``steps`` steps.

    Call :meth:`step` after each training step (it returns True once enough steps are recorded),
    then :meth:`save` (a ``with`` block saves on a clean exit). A layer called more than once in a
    step (a shared module) keeps each call as its own step entry.
    """

    def __init__(self, model, path, steps=3, compress=False, max_bytes=DEFAULT_MAX_BYTES):
        if not isinstance(model, nn.Module):
            raise TypeError(f'model must be a torch.nn.Module, got {type(model).__name__}')
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f'steps must be a whole number >= 1, got {steps!r}')
        self.path = path
        self.steps = steps
        self.compress = compress
        self.max_bytes = max_bytes
        self.layers = batch_norm_layers(model)
        if not self.layers:
            raise ValueError('the model has no BatchNorm1d/2d/3d or SyncBatchNorm layer to capture')
        self.records = {name: [] for name, _ in self.layers}
        self.types = {name: type(m).__name__ for name, m in self.layers}
        self.features = {name: int(m.num_features) for name, m in self.layers}
        self.dtypes = {}
        self.recorded = 0
        self.bytes = 0
        self.mode = None
        self.handles = [m.register_forward_pre_hook(self._hook(name)) for name, m in self.layers]

    def _hook(self, name):
        def hook(module, inputs):
            if self.recorded >= self.steps:
                return
            x = inputs[0].detach()
            self.dtypes.setdefault(name, str(x.dtype).replace('torch.', ''))
            if x.dtype not in (torch.float32, torch.float64):
                x = x.float()
            if x.dim() < 2:
                raise ValueError(f'layer {name} got a {x.dim()}-D input; batch norm needs [N, C, ...]')
            self.mode = 'train' if module.training else 'eval'
            arr = x.cpu().contiguous().numpy().copy()
            self.bytes += arr.nbytes
            if self.bytes > self.max_bytes:
                raise ValueError(f'the capture passed {self.max_bytes} bytes; capture fewer steps or a smaller batch')
            self.records[name].append((self.recorded, arr))
        return hook

    def step(self):
        """Marks the end of a step; returns True once ``steps`` steps are recorded."""
        if self.recorded < self.steps:
            self.recorded += 1
        return self.recorded >= self.steps

    @property
    def done(self):
        """True once ``steps`` steps are recorded."""
        return self.recorded >= self.steps

    def remove(self):
        """Removes the hooks (the model is as it was)."""
        for h in self.handles:
            h.remove()
        self.handles = []

    def manifest(self):
        """The manifest describing what :meth:`save` writes."""
        layers = []
        for index, (name, _) in enumerate(self.layers):
            recs = self.records[name]
            if not recs:
                continue
            members = [f'acts/{index:03d}/step{k:03d}.npy' for k in range(len(recs))]
            layers.append({
                'name': name,
                'type': self.types[name],
                'num_features': self.features[name],
                'shape': list(recs[0][1].shape),
                'dtype': self.dtypes[name],
                'steps': [step for step, _ in recs],
                'members': members,
                'shapes': [list(arr.shape) for _, arr in recs],
            })
        return {
            'format': FORMAT,
            'version': VERSION,
            'torch': torch.__version__,
            'numpy': np.__version__,
            'mode': self.mode or 'train',
            'steps': self.recorded,
            'layers': layers,
        }

    def save(self, path=None):
        """Writes the archive (to ``path``, default the one given) and returns its manifest."""
        path = path or self.path
        manifest = self.manifest()
        if not manifest['layers']:
            raise ValueError('no batch-norm layer ran: call the model between Capture() and save()')
        method = zipfile.ZIP_DEFLATED if self.compress else zipfile.ZIP_STORED
        with zipfile.ZipFile(path, 'w', compression=method, allowZip64=True) as zf:
            for index, (name, _) in enumerate(self.layers):
                for k, (_, arr) in enumerate(self.records[name]):
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, arr, allow_pickle=False)
                    zf.writestr(f'acts/{index:03d}/step{k:03d}.npy', buf.getvalue())
            zf.writestr('manifest.json', json.dumps(manifest, indent=1))
        return manifest

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        self.remove()
        if kind is None:
            if self.recorded == 0 and any(self.records.values()):
                self.recorded = 1  # one forward without step(): count it as a step
            self.save()
        return False


def capture(model, batches, path, steps=3, train_step=None, compress=False):
    """Runs ``model`` on up to ``steps`` batches and saves every BN layer's input to ``path``.

    ``train_step(model, batch)``, when given, runs one step of your own (forward, backward,
    optimizer); otherwise the model's forward runs on the batch (its first item, for a pair).
    Returns the manifest.
    """
    cap = Capture(model, path, steps=steps, compress=compress)
    try:
        for batch in batches:
            if train_step is not None:
                train_step(model, batch)
            else:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                with torch.no_grad():
                    model(x)
            if cap.step():
                break
    finally:
        cap.remove()
    return cap.save()


def demo_model(seed=0):
    """A small CNN with BatchNorm2d and BatchNorm1d layers (LeNet-sized)."""
    torch.manual_seed(seed)
    return nn.Sequential(OrderedDict([
        ('conv1', nn.Conv2d(1, 6, 3, padding=1)), ('bn1', nn.BatchNorm2d(6)), ('relu1', nn.ReLU()), ('pool', nn.MaxPool2d(2)),
        ('conv2', nn.Conv2d(6, 8, 3, padding=1)), ('bn2', nn.BatchNorm2d(8)), ('relu2', nn.ReLU()),
        ('flatten', nn.Flatten()), ('fc1', nn.Linear(8 * 6 * 6, 16)), ('bn3', nn.BatchNorm1d(16)), ('relu3', nn.ReLU()),
        ('fc2', nn.Linear(16, 10)),
    ]))


def demo_batches(batch=16, size=12, seed=0):
    """Smooth random images (white noise blurred by a 5x5 box, then shifted per image), as real
    images are: neighbouring pixels are strongly correlated."""
    g = torch.Generator().manual_seed(seed)
    while True:
        noise = torch.randn(batch, 1, size + 4, size + 4, generator=g)
        smooth = nn.functional.avg_pool2d(noise, 5, stride=1)
        yield smooth * 3 + torch.randn(batch, 1, 1, 1, generator=g)


def load(spec, what):
    if ':' not in spec:
        raise SystemExit(f'syncbn_capture: {what} must be MODULE:FUNCTION, got {spec!r}')
    module, fn = spec.split(':', 1)
    sys.path.insert(0, '.')
    try:
        return getattr(importlib.import_module(module), fn)()
    except (ImportError, AttributeError) as e:
        raise SystemExit(f'syncbn_capture: cannot load {what} {spec!r}: {e}')


def main(argv=None):
    p = argparse.ArgumentParser(description='Save the input of every batch-norm layer of a PyTorch model to one .npz for syncbn-sim.')
    p.add_argument('--out', required=True, help='the .npz to write')
    p.add_argument('--model', help='MODULE:FUNCTION returning your torch.nn.Module')
    p.add_argument('--data', help='MODULE:FUNCTION returning an iterable of batches (inputs, or (input, target) pairs)')
    p.add_argument('--demo', action='store_true', help='a small CNN on smooth random 12x12 images instead of --model/--data')
    p.add_argument('--steps', type=int, default=3, help='steps (batches) to record (default 3)')
    p.add_argument('--batch', type=int, default=16, help='batch of the demo data (default 16)')
    p.add_argument('--seed', type=int, default=0, help='seed of the demo (default 0)')
    p.add_argument('--eval', action='store_true', help='run the model in eval mode (default train mode)')
    p.add_argument('--compress', action='store_true', help='deflate the members (default: stored)')
    a = p.parse_args(argv)
    if a.demo == bool(a.model or a.data):
        raise SystemExit('syncbn_capture: give --demo, or --model and --data')
    if not a.demo and not (a.model and a.data):
        raise SystemExit('syncbn_capture: --model and --data go together')
    if a.steps < 1:
        raise SystemExit(f'syncbn_capture: --steps must be >= 1, got {a.steps}')
    model = demo_model(a.seed) if a.demo else load(a.model, '--model')
    data = demo_batches(a.batch, seed=a.seed) if a.demo else load(a.data, '--data')
    model.train(not a.eval)
    try:
        manifest = capture(model, data, a.out, steps=a.steps, compress=a.compress)
    except ValueError as e:
        raise SystemExit(f'syncbn_capture: {e}')
    for layer in manifest['layers']:
        print(f"{layer['name']}: {layer['type']} input {'x'.join(map(str, layer['shape']))}, {len(layer['steps'])} steps")
    print(f"wrote {a.out} ({len(manifest['layers'])} layers, {manifest['steps']} steps)")


if __name__ == '__main__':
    main()
