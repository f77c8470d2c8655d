#!/usr/bin/python3
"""Generate reference conversions float64 -> float16 and float64 -> bfloat16.

What it produces
----------------
``test/fixtures/half/conversions.json``::

    {"generator", "numpy", "torch",
     "cases": [{"x": "<16 hex digits: the float64 bits>",
                "float16": <uint16 bits, numpy: np.float64(x).astype(np.float16)>,
                "bfloat16": <uint16 bits, exact rational rounding, ties to even>,
                "bfloat16_torch": <uint16 bits of torch.tensor(x, float64).to(torch.bfloat16)>,
                "float32_exact": <whether x is a float32 value>}, ...]}

The references, and why they can be trusted:

* float16: numpy converts a double to half directly from its bits with round-to-nearest-even
  (npy_doublebits_to_halfbits), subnormals and overflow included.
* bfloat16: an independent exact implementation here, with Python's ``fractions.Fraction``
  (no floating point at all): scale |x| so the quantum of its binade is 1, ``round()`` (which
  rounds a Fraction half to even), scale back; past (2 - 2^-8) * 2^127 it is infinity. The
  float16 column is recomputed the same way and must equal numpy's for every case, which checks
  the rational method against numpy.
* torch's bfloat16 agrees with the rational reference on every float32 value (its conversion
  rounds a float to nearest even), which the script asserts; on float64 values that are not
  float32 values torch rounds twice (double -> float -> bfloat16), and the file records where
  that differs, e.g. 1 + 2^-8 + 2^-30 -> 1 instead of 1.0078125.

Inputs: special values (signed zeros, infinities, NaN), each format's limits and ties (max, the
overflow threshold, the smallest normal and subnormal, halfway points, 2048 / 2049 / 65520 and
other counts), double-rounding traps, and 1000 seeded random doubles (and 300 midpoints) over the whole exponent range
(``numpy.random.default_rng(16)``).

How to rerun (from the repository root; Debian's python, which has python3-torch):

    /usr/bin/python3 scripts/make_half_fixtures.py
"""

import json
import math
import os
import struct
import sys
from fractions import Fraction

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "half", "conversions.json")

FORMATS = {"float16": (10, 5), "bfloat16": (7, 8)}


def exact_bits(x, fmt):
    """Round-to-nearest-even of a double to a 16-bit format, by rational arithmetic."""
    frac_bits, exp_bits = FORMATS[fmt]
    bias = 2 ** (exp_bits - 1) - 1
    exp_mask = 2 ** exp_bits - 1
    if math.isnan(x):
        return (exp_mask << frac_bits) | (1 << (frac_bits - 1))
    sign = 0x8000 if math.copysign(1.0, x) < 0 else 0
    if math.isinf(x):
        return sign | (exp_mask << frac_bits)
    a = Fraction(abs(x))
    if a == 0:
        return sign
    overflow = (2 - Fraction(1, 2 ** (frac_bits + 1))) * Fraction(2) ** bias
    if a >= overflow:
        return sign | (exp_mask << frac_bits)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    e = max(e, 1 - bias)
    quantum = Fraction(2) ** (e - frac_bits)
    r = round(a / quantum)  # Fraction.__round__ rounds half to even
    value = r * quantum
    if value < Fraction(2) ** (1 - bias):
        return sign | int(value / Fraction(2) ** (1 - bias - frac_bits))
    e2 = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** e2 > value:
        e2 -= 1
    fraction = int(value / Fraction(2) ** (e2 - frac_bits)) - 2 ** frac_bits
    return sign | ((e2 + bias) << frac_bits) | fraction


def f64_hex(x):
    return struct.pack(">d", x).hex()


def inputs():
    xs = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, 0.1, 1 / 3, -2.5]
    # float16 limits, counts and ties
    xs += [65504.0, 65519.99999, 65520.0, 65536.0, 1e5, -65520.0, 2048.0, 2049.0, 2050.0, 2051.0,
           4097.0, 4098.0, 100352.0, 3.0 * 2 ** 11 + 1, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -25,
           2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * (1 + 2 ** -30), 3 * 2.0 ** -25, 5 * 2.0 ** -25,
           6e-8, 1e-10, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -11 + 2.0 ** -40]
    # bfloat16 limits, ties and double-rounding traps
    xs += [(2 - 2.0 ** -7) * 2.0 ** 127, (2 - 2.0 ** -8) * 2.0 ** 127, (2 - 2.0 ** -8) * 2.0 ** 127 * (1 - 2 ** -40),
           2.0 ** -126, 2.0 ** -133, 2.0 ** -134, 3 * 2.0 ** -134, 1.7e308, 5e-324, 255.0, 256.0, 257.0,
           258.0, 259.0, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 1 + 2.0 ** -8 + 2.0 ** -30, 1 + 2.0 ** -8 - 2.0 ** -30,
           -(1 + 2.0 ** -8 + 2.0 ** -40), 3.0e38, 3.4e38]
    rng = np.random.default_rng(16)
    exps = rng.uniform(-1074, 1023, size=500)
    xs += [float(m * 2.0 ** e) for m, e in zip(rng.uniform(-2, 2, size=500), exps)]
    xs += [float(v) for v in rng.standard_normal(500) * 10.0 ** rng.uniform(-9, 6, size=500)]
    # exact midpoints of random float16 / bfloat16 neighbours, and a hair off them
    for _ in range(150):
        h = np.float16(rng.standard_normal() * 10 ** rng.uniform(-6, 4))
        if not np.isfinite(h) or h == 0:
            continue
        up = np.nextafter(h, np.float16(np.inf))
        mid = (float(h) + float(up)) / 2
        xs += [mid, np.nextafter(mid, math.inf), np.nextafter(mid, -math.inf)]
    for _ in range(150):
        b = float(torch.tensor(rng.standard_normal() * 10 ** rng.uniform(-30, 30), dtype=torch.float32).to(torch.bfloat16).float())
        step = 2.0 ** (math.frexp(abs(b))[1] - 8) if b != 0 else 0
        mid = b + math.copysign(step / 2, b)
        xs += [mid, mid + math.copysign(2.0 ** -60 * abs(mid), mid)]
    return xs


def main():
    np.seterr(over="ignore")
    cases = []
    differ = 0
    for x in inputs():
        x = float(x)
        f16 = int(np.array([x], dtype=np.float64).astype(np.float16).view(np.uint16)[0])
        assert exact_bits(x, "float16") == f16 or math.isnan(x), (x, f16, exact_bits(x, "float16"))
        bf16 = exact_bits(x, "bfloat16")
        bf16_torch = int(torch.tensor([x], dtype=torch.float64).to(torch.bfloat16).view(torch.int16).item()) & 0xFFFF
        f32_exact = bool(np.isnan(x) or float(np.float32(x)) == x) if not math.isinf(x) else True
        if f32_exact:
            t = int(torch.tensor([x], dtype=torch.float32).to(torch.bfloat16).view(torch.int16).item()) & 0xFFFF
            assert t == bf16 or math.isnan(x), (x, t, bf16)
        if bf16_torch != bf16 and not math.isnan(x):
            differ += 1
        cases.append({"x": f64_hex(x), "float16": f16, "bfloat16": bf16, "bfloat16_torch": bf16_torch, "float32_exact": f32_exact})
    doc = {
        "generator": "scripts/make_half_fixtures.py (/usr/bin/python3 scripts/make_half_fixtures.py)",
        "numpy": np.__version__,
        "torch": torch.__version__,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} conversions to {os.path.relpath(OUT, REPO)}; torch's float64 -> bfloat16 "
          f"differs from exact rounding on {differ} (double rounding through float32)", file=sys.stderr)


if __name__ == "__main__":
    main()
