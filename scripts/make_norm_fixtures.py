#!/usr/bin/python3
"""Generate PyTorch reference fixtures for group norm, layer norm and instance norm.

What it produces
----------------
``test/fixtures/norm/`` (deleted and recreated on every run), containing:

* ``manifest.json`` -- ``{"generator", "torch", "numpy", "cases": [<case names in order>]}``
* one folder ``<case-name>/`` per case, .npy files written by ``numpy.save`` (C order, ``<f4`` or
  ``<f8`` as the case's dtype):

  inputs   ``input.npy`` x [N,C] or [N,C,H,W]; ``weight.npy`` and ``bias.npy`` gamma and beta
           ([C] for group and instance norm, the normalized shape [C,H,W] or [C] for layer norm);
           ``grad_output.npy`` dy, the input's shape
  outputs  ``output.npy`` y; ``grad_input.npy`` dx; ``grad_weight.npy``, ``grad_bias.npy``
  ``case.json`` ``{"name", "norm": "group"|"layer"|"instance", "shape", "dtype", "eps", "groups"}``
           (groups for group norm only)

The modules: ``nn.GroupNorm(G, C, eps)``, ``nn.LayerNorm(x.shape[1:], eps)`` (over C, H, W with an
elementwise affine, as a ConvNet uses it), ``nn.InstanceNorm2d(C, eps, affine=True)`` (training
mode, no running statistics). Gradients are those of ``output.backward(grad_output)``; float64
cases build every tensor in torch.float64. Each case draws from
``numpy.random.default_rng(30300 + index)``: byte-identical files on rerun for one torch/numpy build.

A self-check reloads every case and compares it with an independent numpy implementation (two-pass
statistics per set, the closed-form backward): float64 cases must agree to 1e-12, float32 to 2e-5.

How to rerun (from the repository root; Debian's python, which has python3-torch):

    /usr/bin/python3 scripts/make_norm_fixtures.py
"""

import json
import os
import shutil
import sys

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "norm")
DTYPES = {"float32": (np.dtype("<f4"), torch.float32), "float64": (np.dtype("<f8"), torch.float64)}

# name, norm, shape, dtype, eps, groups, data (loc, scale)
CASES = [
    ("group_4x6x3x5_g3_f64", "group", [4, 6, 3, 5], "float64", 1e-5, 3, (0.0, 1.0)),
    ("group_4x6x3x5_g3_f32", "group", [4, 6, 3, 5], "float32", 1e-5, 3, (0.0, 1.0)),
    ("group_2x8x4x4_g1_f64_offset", "group", [2, 8, 4, 4], "float64", 1e-5, 1, (3.0, 0.5)),
    ("group_3x4x2x3_g4_f64_eps1e-3", "group", [3, 4, 2, 3], "float64", 1e-3, 4, (0.0, 1.0)),
    ("group_5x6_g2_f64", "group", [5, 6], "float64", 1e-5, 2, (1.0, 2.0)),
    ("group_5x6_g2_f32", "group", [5, 6], "float32", 1e-5, 2, (1.0, 2.0)),
    ("layer_3x4x5x5_f64", "layer", [3, 4, 5, 5], "float64", 1e-5, None, (0.0, 1.0)),
    ("layer_3x4x5x5_f32", "layer", [3, 4, 5, 5], "float32", 1e-5, None, (0.0, 1.0)),
    ("layer_2x3x3x7_f64_offset_eps1e-3", "layer", [2, 3, 3, 7], "float64", 1e-3, None, (3.0, 0.5)),
    ("layer_4x6_f64", "layer", [4, 6], "float64", 1e-5, None, (0.0, 1.0)),
    ("instance_3x4x5x6_f64", "instance", [3, 4, 5, 6], "float64", 1e-5, None, (0.0, 1.0)),
    ("instance_3x4x5x6_f32", "instance", [3, 4, 5, 6], "float32", 1e-5, None, (0.0, 1.0)),
    ("instance_2x3x2x2_f64_offset_eps1e-3", "instance", [2, 3, 2, 2], "float64", 1e-3, None, (3.0, 0.5)),
]


def module_for(norm, shape, eps, groups, tdtype):
    C = shape[1]
    if norm == "group":
        return torch.nn.GroupNorm(groups, C, eps=eps, dtype=tdtype)
    if norm == "layer":
        return torch.nn.LayerNorm(shape[1:], eps=eps, dtype=tdtype)
    return torch.nn.InstanceNorm2d(C, eps=eps, affine=True, dtype=tdtype)


def affine_shape(norm, shape):
    return list(shape[1:]) if norm == "layer" else [shape[1]]


def make_inputs(rng, norm, shape, data):
    loc, scale = data
    C = shape[1]
    bshape = [1, C] + [1] * (len(shape) - 2)
    ch_loc = loc * (1.0 + 0.2 * rng.uniform(-1.0, 1.0, size=C))
    ch_scale = scale * rng.uniform(0.5, 1.5, size=C)
    x = ch_loc.reshape(bshape) + ch_scale.reshape(bshape) * rng.standard_normal(shape)
    ashape = affine_shape(norm, shape)
    w = rng.uniform(0.5, 2.0, size=ashape) * rng.choice([-1.0, 1.0], size=ashape)
    w.flat[0] = -abs(w.flat[0])
    b = rng.standard_normal(ashape)
    dy = rng.standard_normal(shape)
    return x, w, b, dy


def run_torch(norm, x, w, b, dy, eps, groups, tdtype):
    mod = module_for(norm, list(x.shape), eps, groups, tdtype)
    with torch.no_grad():
        mod.weight.copy_(torch.from_numpy(w))
        mod.bias.copy_(torch.from_numpy(b))
    mod.train(True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    y = mod(xt)
    y.backward(torch.from_numpy(dy.copy()))
    return {
        "output": y.detach().numpy().copy(),
        "grad_input": xt.grad.numpy().copy(),
        "grad_weight": mod.weight.grad.numpy().copy(),
        "grad_bias": mod.bias.grad.numpy().copy(),
    }


def set_view(norm, x, groups):
    """x reshaped to [sets, elements per set] (sets in C order of (sample, group))."""
    N, C = x.shape[0], x.shape[1]
    G = {"group": groups, "layer": 1, "instance": C}[norm]
    return x.reshape(N * G, -1)


def numpy_norm(norm, x, w, b, dy, eps, groups):
    x, dy = x.astype(np.float64), dy.astype(np.float64)
    shape = x.shape
    C = shape[1]
    xs = set_view(norm, x, groups)
    mean = xs.mean(axis=1, keepdims=True)
    var = ((xs - mean) ** 2).mean(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = ((xs - mean) * inv).reshape(shape)
    if norm == "layer":
        wb = w.reshape((1,) + shape[1:])
        bb = b.reshape((1,) + shape[1:])
    else:
        wb = w.reshape([1, C] + [1] * (len(shape) - 2))
        bb = b.reshape([1, C] + [1] * (len(shape) - 2))
    y = wb * xhat + bb
    g = set_view(norm, dy * wb, groups)
    xh = set_view(norm, xhat, groups)
    n = xs.shape[1]
    dx = inv * (g - g.sum(axis=1, keepdims=True) / n - xh * (g * xh).sum(axis=1, keepdims=True) / n)
    if norm == "layer":
        gw, gb = (dy * xhat).sum(axis=0), dy.sum(axis=0)
    else:
        axes = (0,) + tuple(range(2, len(shape)))
        gw, gb = (dy * xhat).sum(axis=axes), dy.sum(axis=axes)
    return {"output": y, "grad_input": dx.reshape(shape), "grad_weight": gw, "grad_bias": gb}


def save(folder, name, arr, npdtype):
    arr = np.ascontiguousarray(np.asarray(arr).astype(npdtype, copy=False))
    np.save(os.path.join(folder, name + ".npy"), arr)


def main():
    torch.manual_seed(0)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    names = []
    worst = {"float32": 0.0, "float64": 0.0}
    for idx, (name, norm, shape, dtype, eps, groups, data) in enumerate(CASES):
        npdtype, tdtype = DTYPES[dtype]
        rng = np.random.default_rng(30300 + idx)
        x, w, b, dy = (a.astype(npdtype) for a in make_inputs(rng, norm, shape, data))
        out = run_torch(norm, x, w, b, dy, eps, groups, tdtype)
        folder = os.path.join(OUT, name)
        os.makedirs(folder)
        for k, v in list({"input": x, "weight": w, "bias": b, "grad_output": dy}.items()) + list(out.items()):
            save(folder, k, v, npdtype)
        meta = {"name": name, "norm": norm, "shape": shape, "dtype": dtype, "eps": eps}
        if groups is not None:
            meta["groups"] = groups
        with open(os.path.join(folder, "case.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        names.append(name)
        # Self-check from the files on disk.
        ld = lambda k: np.load(os.path.join(folder, k + ".npy"))  # noqa: E731
        ref = numpy_norm(norm, ld("input"), ld("weight").astype(np.float64), ld("bias").astype(np.float64),
                         ld("grad_output"), eps, groups)
        tol = 1e-12 if dtype == "float64" else 2e-5
        for k, expect in ref.items():
            got = ld(k).astype(np.float64)
            assert got.shape == expect.shape, (name, k, got.shape, expect.shape)
            err = np.max(np.abs(got - expect)) / max(np.max(np.abs(expect)), 1e-300)
            worst[dtype] = max(worst[dtype], err)
            assert err <= tol, f"{name}/{k}: error {err:.3e} > {tol:g}"
    manifest = {
        "generator": "scripts/make_norm_fixtures.py (/usr/bin/python3 scripts/make_norm_fixtures.py)",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cases": names,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {len(names)} cases to {os.path.relpath(OUT, REPO)}; self-check vs numpy: worst "
          f"float64 {worst['float64']:.2e}, float32 {worst['float32']:.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
