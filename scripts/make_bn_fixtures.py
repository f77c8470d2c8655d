#!/usr/bin/python3
"""Generate PyTorch reference fixtures for the batch-norm operator.

What it produces
----------------
``test/fixtures/bn/`` (deleted and recreated on every run), containing:

* ``manifest.json`` -- ``{"generator", "torch", "numpy", "cases": [<case names in order>]}``
* one folder ``<case-name>/`` per case with .npy files written by ``numpy.save``
  (C-contiguous, little-endian, dtype ``<f4`` or ``<f8`` as given by the case):

  inputs
    ``input.npy``          x, shape [N,C] or [N,C,H,W]
    ``weight.npy``         gamma, [C]
    ``bias.npy``           beta, [C]
    ``running_mean.npy``   initial running mean, [C]
    ``running_var.npy``    initial running variance, [C]
    ``grad_output.npy``    dy, same shape as input (only when ``has_grad``)
  expected outputs (PyTorch, nn.BatchNorm1d / nn.BatchNorm2d, cross-checked with F.batch_norm)
    ``output.npy``         y
    ``grad_input.npy``     dx    (only when ``has_grad``)
    ``grad_weight.npy``    dgamma (only when ``has_grad``)
    ``grad_bias.npy``      dbeta  (only when ``has_grad``)
    ``running_mean_out.npy``, ``running_var_out.npy``  running stats after the call
                           (unchanged in eval mode)
  ``case.json``
    ``{"name", "shape", "dtype": "float32"|"float64", "training", "momentum", "eps",
    "has_grad", "affine_default", "stats": {"count", "mean": [C], "var": [C]}}``
    ``affine_default`` is true when weight=1, bias=0, running_mean=0, running_var=1 (the PyTorch
    defaults), i.e. the case can be run without passing the weight/bias/running files.
    ``stats`` are the batch statistics PyTorch normalizes with in training: per channel mean over
    (N[,H,W]) and the BIASED variance, computed in float64 with numpy from the stored input. They are
    given for eval cases too (eval normalizes with the running stats instead).

Gradients are those of ``(output * grad_output).sum()``, i.e. ``output.backward(grad_output)``.
float64 cases build every tensor as torch.float64, so PyTorch computes in double.

Conventions (GUIDE.md sections 3 and 4): PyTorch running-stat update
``r = (1-m)*r + m*stat`` with the UNBIASED batch variance (n/(n-1)); eval normalizes with the
running stats and its backward is ``dx = gamma/sqrt(r_var+eps)*dy``.

Determinism: each case draws from ``numpy.random.default_rng(seed)`` with a fixed per-case seed, and
``torch.manual_seed(0)`` is set (torch draws no random numbers here anyway). Rerunning produces
byte-identical files for the same torch/numpy build.

At the end a self-check reloads every case from disk and compares it with an independent numpy
implementation of BN (forward, backward, running stats; GUIDE section 3): float64 cases must agree to
~1e-12, float32 cases to float32 rounding (~1e-5 relative).

How to rerun (from the repository root; Debian's python, which has python3-torch):

    /usr/bin/python3 scripts/make_bn_fixtures.py
"""

import json
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "bn")

DTYPES = {"float32": (np.dtype("<f4"), torch.float32), "float64": (np.dtype("<f8"), torch.float64)}

# ---------------------------------------------------------------------------------------------
# Case table.
#   affine: "default" -> weight 1, bias 0, running 0/1 (affine_default true)
#           "random"  -> random gamma (with at least one negative entry), random beta; running
#                        stats random (mean ~ N(0,1), var in [0.5, 2]) when not training-default
#   data:   (loc, scale) -> per-channel offset loc*(1 + small spread) and scale*(0.5..1.5 spread)
# ---------------------------------------------------------------------------------------------
CASES = [
    # name,                          shape,         dtype,     train, grad,  momentum, eps,  affine,   data
    ("nc_8x16_train_f32_default",    [8, 16],       "float32", True,  True,  0.1,  1e-5, "default", (0.0, 1.0)),
    ("nc_8x16_train_f64_default",    [8, 16],       "float64", True,  True,  0.1,  1e-5, "default", (0.0, 1.0)),
    ("nc_8x16_train_f32_affine_offset", [8, 16],    "float32", True,  True,  0.1,  1e-5, "random",  (3.0, 0.5)),
    ("nc_8x16_train_f64_affine_offset", [8, 16],    "float64", True,  True,  0.1,  1e-5, "random",  (3.0, 0.5)),
    ("nc_2x3_train_f32_m0.3_eps1e-3", [2, 3],       "float32", True,  True,  0.3,  1e-3, "random",  (0.0, 1.0)),
    ("nc_2x3_train_f64_m0.3_eps1e-3", [2, 3],       "float64", True,  True,  0.3,  1e-3, "random",  (0.0, 1.0)),
    ("nc_5x1_train_f64_c1_m1.0",     [5, 1],        "float64", True,  True,  1.0,  1e-5, "random",  (-2.0, 3.0)),
    ("nc_4x6_train_f64_nograd_m0.3", [4, 6],        "float64", True,  False, 0.3,  1e-5, "random",  (1.0, 2.0)),
    ("nchw_6x5x3x3_train_f32_default", [6, 5, 3, 3], "float32", True, True,  0.1,  1e-5, "default", (0.0, 1.0)),
    ("nchw_6x5x3x3_train_f64_affine_m0.0", [6, 5, 3, 3], "float64", True, True, 0.0, 1e-5, "random", (3.0, 0.5)),
    ("nchw_3x4x5x7_train_f32_eps1e-8", [3, 4, 5, 7], "float32", True, True,  0.1,  1e-8, "random",  (0.0, 1.0)),
    ("nchw_3x4x5x7_train_f64_eps1e-8", [3, 4, 5, 7], "float64", True, True,  0.1,  1e-8, "random",  (0.0, 1.0)),
    ("nchw_4x3x1x1_train_f32",       [4, 3, 1, 1],  "float32", True,  True,  0.1,  1e-5, "random",  (0.5, 1.0)),
    ("nchw_4x3x1x1_train_f64",       [4, 3, 1, 1],  "float64", True,  True,  0.1,  1e-5, "random",  (0.5, 1.0)),
    ("nchw_2x1x3x3_train_f64_n2_c1_m0.3", [2, 1, 3, 3], "float64", True, True, 0.3, 1e-5, "random", (3.0, 0.5)),
    ("nchw_2x3x4x4_train_f32_n2_nograd", [2, 3, 4, 4], "float32", True, False, 0.1, 1e-5, "default", (0.0, 1.0)),
    ("nc_8x16_eval_f32",             [8, 16],       "float32", False, True,  0.1,  1e-5, "random",  (0.0, 1.0)),
    ("nc_8x16_eval_f64",             [8, 16],       "float64", False, True,  0.1,  1e-5, "random",  (0.0, 1.0)),
    ("nchw_6x5x3x3_eval_f64_eps1e-3", [6, 5, 3, 3], "float64", False, True,  0.1,  1e-3, "random",  (3.0, 0.5)),
    ("nchw_3x4x5x7_eval_f32_nograd", [3, 4, 5, 7],  "float32", False, False, 0.1,  1e-5, "random",  (0.0, 1.0)),
]


def make_inputs(rng, shape, affine, data):
    """Draw float64 inputs; the caller casts them to the case dtype."""
    C = shape[1]
    loc, scale = data
    bshape = [1, C] + [1] * (len(shape) - 2)
    ch_loc = loc * (1.0 + 0.2 * rng.uniform(-1.0, 1.0, size=C))
    ch_scale = scale * rng.uniform(0.5, 1.5, size=C)
    x = ch_loc.reshape(bshape) + ch_scale.reshape(bshape) * rng.standard_normal(shape)
    if affine == "default":
        w, b = np.ones(C), np.zeros(C)
        rm, rv = np.zeros(C), np.ones(C)
    else:
        w = rng.uniform(0.5, 2.0, size=C) * rng.choice([-1.0, 1.0], size=C)
        w[0] = -abs(w[0])  # always at least one negative gamma
        b = rng.standard_normal(C)
        rm = rng.standard_normal(C)
        rv = rng.uniform(0.5, 2.0, size=C)
    dy = rng.standard_normal(shape)
    return x, w, b, rm, rv, dy


def torch_bn(x, w, b, rm, rv, dy, training, momentum, eps, has_grad, tdtype):
    """Run nn.BatchNorm{1,2}d and return numpy outputs (in the case dtype)."""
    C = x.shape[1]
    cls = torch.nn.BatchNorm1d if x.ndim == 2 else torch.nn.BatchNorm2d
    mod = cls(C, eps=eps, momentum=momentum, affine=True, track_running_stats=True, dtype=tdtype)
    with torch.no_grad():
        mod.weight.copy_(torch.from_numpy(w))
        mod.bias.copy_(torch.from_numpy(b))
        mod.running_mean.copy_(torch.from_numpy(rm))
        mod.running_var.copy_(torch.from_numpy(rv))
    mod.train(training)
    xt = torch.from_numpy(x.copy()).requires_grad_(has_grad)
    y = mod(xt)
    out = {"output": y.detach().numpy().copy()}
    if has_grad:
        y.backward(torch.from_numpy(dy.copy()))
        out["grad_input"] = xt.grad.numpy().copy()
        out["grad_weight"] = mod.weight.grad.numpy().copy()
        out["grad_bias"] = mod.bias.grad.numpy().copy()
    out["running_mean_out"] = mod.running_mean.detach().numpy().copy()
    out["running_var_out"] = mod.running_var.detach().numpy().copy()

    # Cross-check with the functional form (same kernel; must agree to rounding).
    wt = torch.from_numpy(w.copy()).requires_grad_(has_grad)
    bt = torch.from_numpy(b.copy()).requires_grad_(has_grad)
    rmt, rvt = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    xt2 = torch.from_numpy(x.copy()).requires_grad_(has_grad)
    y2 = F.batch_norm(xt2, rmt, rvt, wt, bt, training=training, momentum=momentum, eps=eps)
    checks = [(y2.detach().numpy(), out["output"]), (rmt.numpy(), out["running_mean_out"]),
              (rvt.numpy(), out["running_var_out"])]
    if has_grad:
        (y2 * torch.from_numpy(dy.copy())).sum().backward()
        checks += [(xt2.grad.numpy(), out["grad_input"]), (wt.grad.numpy(), out["grad_weight"]),
                   (bt.grad.numpy(), out["grad_bias"])]
    tol = 1e-5 if tdtype == torch.float32 else 1e-13
    for a, e in checks:
        assert np.allclose(a, e, rtol=tol, atol=tol), "module and F.batch_norm disagree"
    if not training:
        assert np.array_equal(out["running_mean_out"], rm) and np.array_equal(out["running_var_out"], rv)
    return out


def batch_stats(x):
    """Per-channel count, mean and biased variance in float64 (two-pass)."""
    x = x.astype(np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    n = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    bshape = [1, x.shape[1]] + [1] * (x.ndim - 2)
    var = ((x - mean.reshape(bshape)) ** 2).mean(axis=axes)
    return n, mean, var


def save(folder, name, arr, npdtype):
    arr = np.ascontiguousarray(np.asarray(arr).astype(npdtype, copy=False))
    assert arr.dtype == npdtype and arr.flags["C_CONTIGUOUS"]
    np.save(os.path.join(folder, name + ".npy"), arr)


def generate():
    torch.manual_seed(0)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    names = []
    for idx, (name, shape, dtype, training, has_grad, momentum, eps, affine, data) in enumerate(CASES):
        npdtype, tdtype = DTYPES[dtype]
        rng = np.random.default_rng(20240 + idx)
        raw = make_inputs(rng, shape, affine, data)
        x, w, b, rm, rv, dy = (a.astype(npdtype) for a in raw)
        out = torch_bn(x, w, b, rm, rv, dy, training, momentum, eps, has_grad, tdtype)

        folder = os.path.join(OUT, name)
        os.makedirs(folder)
        inputs = {"input": x, "weight": w, "bias": b, "running_mean": rm, "running_var": rv}
        if has_grad:
            inputs["grad_output"] = dy
        for k, v in list(inputs.items()) + list(out.items()):
            save(folder, k, v, npdtype)

        n, mean, var = batch_stats(x)
        meta = {
            "name": name,
            "shape": list(shape),
            "dtype": dtype,
            "training": training,
            "momentum": momentum,
            "eps": eps,
            "has_grad": has_grad,
            "affine_default": affine == "default",
            "stats": {"count": int(n), "mean": [float(v) for v in mean], "var": [float(v) for v in var]},
        }
        with open(os.path.join(folder, "case.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        names.append(name)

    manifest = {
        "generator": "scripts/make_bn_fixtures.py (/usr/bin/python3 scripts/make_bn_fixtures.py)",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cases": names,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return names


# ---------------------------------------------------------------------------------------------
# Self-check: independent numpy BN (GUIDE section 3), computed in float64 from the files on disk.
# ---------------------------------------------------------------------------------------------
def numpy_bn(x, w, b, rm, rv, dy, training, momentum, eps):
    x = x.astype(np.float64)
    C = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = [1, C] + [1] * (x.ndim - 2)
    n, mu, var = batch_stats(x)
    if training:
        use_mu, use_var = mu, var
        rm_out = (1 - momentum) * rm + momentum * mu
        rv_out = (1 - momentum) * rv + momentum * var * n / (n - 1)
    else:
        use_mu, use_var = rm.astype(np.float64), rv.astype(np.float64)
        rm_out, rv_out = rm, rv
    inv = 1.0 / np.sqrt(use_var + eps)
    xhat = (x - use_mu.reshape(bshape)) * inv.reshape(bshape)
    y = w.reshape(bshape) * xhat + b.reshape(bshape)
    res = {"output": y, "running_mean_out": rm_out, "running_var_out": rv_out}
    if dy is not None:
        dy = dy.astype(np.float64)
        dbeta = dy.sum(axis=axes)
        dgamma = (dy * xhat).sum(axis=axes)
        if training:
            dx = (w * inv).reshape(bshape) * (dy - (dbeta / n).reshape(bshape)
                                              - xhat * (dgamma / n).reshape(bshape))
        else:  # eval: the running stats are constants
            dx = (w * inv).reshape(bshape) * dy
        res.update(grad_input=dx, grad_weight=dgamma, grad_bias=dbeta)
    return res


def self_check(names):
    with open(os.path.join(OUT, "manifest.json")) as f:
        assert json.load(f)["cases"] == names
    worst = {"float32": 0.0, "float64": 0.0}
    for name in names:
        folder = os.path.join(OUT, name)
        with open(os.path.join(folder, "case.json")) as f:
            meta = json.load(f)
        ld = lambda k: np.load(os.path.join(folder, k + ".npy")).astype(np.float64)  # noqa: E731
        x = np.load(os.path.join(folder, "input.npy"))
        assert x.dtype == DTYPES[meta["dtype"]][0] and list(x.shape) == meta["shape"]
        dy = ld("grad_output") if meta["has_grad"] else None
        ref = numpy_bn(x, ld("weight"), ld("bias"), ld("running_mean"), ld("running_var"), dy,
                       meta["training"], meta["momentum"], meta["eps"])
        n, mu, var = batch_stats(x)
        assert meta["stats"]["count"] == n
        assert np.array_equal(np.array(meta["stats"]["mean"]), mu)
        assert np.array_equal(np.array(meta["stats"]["var"]), var)
        if meta["affine_default"]:
            for k, v in (("weight", 1), ("bias", 0), ("running_mean", 0), ("running_var", 1)):
                assert np.all(ld(k) == v), (name, k)
        rtol = 1e-12 if meta["dtype"] == "float64" else 2e-5
        for k, expect in ref.items():
            got = ld(k)
            assert got.shape == np.shape(expect), (name, k)
            err = np.max(np.abs(got - expect) / (1.0 + np.abs(expect)))
            worst[meta["dtype"]] = max(worst[meta["dtype"]], err)
            assert err <= rtol, f"{name}/{k}: error {err:.3e} > {rtol:g}"
    return worst


def main():
    names = generate()
    worst = self_check(names)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {len(names)} cases to {os.path.relpath(OUT, REPO)} ({total} bytes); "
          f"self-check vs numpy: max scaled error float64 {worst['float64']:.2e}, "
          f"float32 {worst['float32']:.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
