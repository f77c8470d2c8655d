#!/usr/bin/python3
"""Generate reference .npy files with real NumPy for the .npy reader/writer tests.

Run with ``/usr/bin/python3 scripts/make_npy_fixtures.py`` (needs numpy). It deletes and recreates
``test/fixtures/npy/``, which then holds:

* good files (the reader must accept them): float32 and float64, format versions 1.0, 2.0 and 3.0
  (written with ``numpy.lib.format.write_array(..., version=...)``), big-endian '>f4' and '>f8', a 0-d
  array, a shape with a zero dim, a 1-D and a 4-D array, and special values (-0, subnormals,
  infinities, NaN, extreme finite values, a NaN with a payload in the big-endian files);
* refused files (the reader must give an InputError): Fortran order, int32, float16, complex64,
  bool, object (pickled) and a structured dtype;
* ``expected.json``::

    {"numpy": "<version>",
     "good": {"<file>": {"shape": [...], "dtype": "float32"|"float64", "version": [major, minor],
                         "byteorder": "<"|">",
                         "values": [...],   # C order; floats are repr-exact JSON numbers (float32
                                            # values widened with float()), except non-finite ones,
                                            # given as the strings "NaN", "Infinity", "-Infinity"
                         "hex": "..."}},    # the data as little-endian bytes: bit-exact, NaNs included
     "refused": {"<file>": "<substring the error message must contain>"}}
"""
import json
import math
import os
import shutil

import numpy as np
from numpy.lib import format as npformat

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'npy')


def f4_values():
    """(2, 4) float32 with the awkward values: -0, 1/3 (rounded), max finite, inf, smallest subnormal, NaN."""
    return np.array([[1.5, -0.0, 1 / 3, 3.4028234663852886e38],
                     [np.inf, -np.inf, 1.401298464324817e-45, np.nan]], dtype=np.float32)


def f8_values():
    """(3, 3) float64 with 0.1, -0, smallest subnormal, max finite, -inf, NaN, smallest normal."""
    return np.array([[0.1, -0.0, 5e-324],
                     [1.7976931348623157e308, -np.inf, np.nan],
                     [2.2250738585072014e-308, 1 / 3, -1e300]], dtype=np.float64)


def with_payload_nan(arr):
    """Returns a copy whose last element is a quiet NaN with a non-zero payload (tests bit-exact byte swaps)."""
    out = arr.copy()
    flat = out.reshape(-1)
    if out.dtype.itemsize == 4:
        flat[-1:] = np.array([0x7FC00001], dtype='<u4').view('<f4')
    else:
        flat[-1:] = np.array([0x7FF8000000000001], dtype='<u8').view('<f8')
    return out


def json_number(v):
    v = float(v)
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return v


def json_one_entry_per_line(doc):
    """JSON with one line per file entry: compact, yet diffs stay readable."""
    parts = []
    for key, value in doc.items():
        if isinstance(value, dict):
            rows = [f'  {json.dumps(k)}: {json.dumps(v)}' for k, v in value.items()]
            parts.append(f' {json.dumps(key)}: {{\n' + ',\n'.join(rows) + '\n }')
        else:
            parts.append(f' {json.dumps(key)}: {json.dumps(value)}')
    return '{\n' + ',\n'.join(parts) + '\n}\n'


def write(name, arr, version=None):
    with open(os.path.join(OUT, name), 'wb') as f:
        npformat.write_array(f, arr, version=version, allow_pickle=True)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    good = {}

    def add_good(name, arr, version=None):
        arr = np.asarray(arr)
        assert arr.dtype.kind == 'f' and arr.flags.c_contiguous
        write(name, arr, version)
        # Read back with NumPy itself: the file must be what we think it is.
        with open(os.path.join(OUT, name), 'rb') as f:
            ver = npformat.read_magic(f)
            f.seek(0)
            back = npformat.read_array(f)
        assert back.dtype == arr.dtype and back.shape == arr.shape
        assert back.tobytes() == arr.tobytes()
        little = arr.astype(arr.dtype.newbyteorder('<'))
        good[name] = {
            'shape': list(arr.shape),
            'dtype': {4: 'float32', 8: 'float64'}[arr.dtype.itemsize],
            'version': list(ver),
            'byteorder': '>' if arr.dtype.byteorder == '>' else '<',
            'values': [json_number(v) for v in little.reshape(-1)],
            'hex': little.tobytes().hex(),
        }

    f4, f8 = f4_values(), f8_values()
    add_good('f4_v1.npy', f4, (1, 0))
    add_good('f8_v1.npy', f8, (1, 0))
    add_good('f4_v2.npy', f4, (2, 0))
    add_good('f8_v2.npy', f8, (2, 0))
    add_good('f4_v3.npy', f4, (3, 0))
    add_good('f8_v3.npy', f8, (3, 0))
    add_good('f4_default.npy', np.arange(6, dtype=np.float32) / 7)  # version chosen by NumPy (1.0)
    add_good('f4_be.npy', with_payload_nan(f4).astype('>f4'))
    add_good('f8_be.npy', with_payload_nan(f8).astype('>f8'))
    add_good('f8_be_v2.npy', np.linspace(-1, 1, 5).astype('>f8'), (2, 0))
    add_good('f8_0d.npy', np.array(3.25, dtype=np.float64))
    add_good('f4_0d_be.npy', np.array(-2.5, dtype='>f4'))
    add_good('f4_zero_dim.npy', np.zeros((0, 3), dtype=np.float32))
    add_good('f8_zero_dims.npy', np.zeros((2, 0, 0), dtype=np.float64))
    add_good('f8_1d.npy', np.array([1e-310, -1e-310, 1e16 + 2, -7.0, 0.0]))
    add_good('f4_4d.npy', ((np.arange(24, dtype=np.float32) - 11.5) / 3).reshape(2, 3, 2, 2))

    refused = {}

    def add_refused(name, arr, message):
        write(name, arr)
        refused[name] = message

    fortran = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert not fortran.flags.c_contiguous
    add_refused('f4_fortran.npy', fortran, 'Fortran-order')
    add_refused('i4.npy', np.arange(4, dtype='<i4'), "unsupported dtype '<i4'")
    add_refused('f2.npy', np.arange(4, dtype='<f2'), "unsupported dtype '<f2'")
    add_refused('c8.npy', np.arange(4, dtype='<c8'), "unsupported dtype '<c8'")
    add_refused('b1.npy', np.array([True, False]), "unsupported dtype '|b1'")
    add_refused('object.npy', np.array([1, 'a', None], dtype=object), "unsupported dtype '|O'")
    add_refused('structured.npy', np.zeros(2, dtype=[('a', '<f4'), ('b', '<f8')]),
                'unsupported dtype: structured')

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        f.write(json_one_entry_per_line({'numpy': np.__version__, 'good': good, 'refused': refused}))
    print(f'wrote {len(good)} good and {len(refused)} refused files to {os.path.normpath(OUT)}')


if __name__ == '__main__':
    main()
