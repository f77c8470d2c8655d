#!/usr/bin/python3
"""Generate the .npz fixtures of the captured-activations tests, with real NumPy and PyTorch.

Run with ``/usr/bin/python3 scripts/make_npz_fixtures.py`` (needs numpy and torch). It deletes and
recreates ``test/fixtures/npz/``, which then holds:

* ``acts.npz``: what ``python/syncbn_capture.py --demo --steps 3 --batch 16`` writes (stored
  members): a small CNN's bn1 (BatchNorm2d, 16x6x12x12), bn2 (BatchNorm2d, 16x8x6x6) and bn3
  (BatchNorm1d, 16x16) inputs over 3 steps, on smooth random images;
* ``acts-deflated.npz``: the same script with ``--compress --steps 1 --batch 8`` (deflated members);
* ``plain.npz``: ``numpy.savez_compressed`` of two arrays without a manifest (zip64 local headers, as
  numpy always writes);
* refused archives, each with the substring its error message must contain (in ``expected.json``);
* ``expected.json``::

    {"numpy": ..., "torch": ...,
     "plain": {"x": {"shape", "values"}, "y": {...}},
     "compare": {"<W>": {"<layer>": {"steps": [{"mean_stray", "mean_stray_iid", "noise_ratio",
                                               "effective_n", "var_stray_rms", "rows_per_device",
                                               "values_per_device"}],
                                    "summary": {"mean_stray", "mean_stray_iid", "noise_ratio", "effective_n"}}}},
     "refused": {"<file>": "<substring>"}}

  ``compare`` is computed here independently of the simulator: each captured batch split along N
  with ``numpy.array_split`` into W shards, per channel the device mean and biased variance against
  the whole batch's (float64), stray = root mean square of (device mean - batch mean) / batch std
  over non-empty devices and channels, i.i.d. = sqrt(mean over devices of (1/n - 1/N) N/(N-1)),
  ratio = (stray / i.i.d.)^2, effective n = mean values per device / ratio; the summary pools the
  squares over steps.
"""
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'npz')
CAPTURE = os.path.join(ROOT, 'python', 'syncbn_capture.py')


def npy_bytes(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def write_zip(path, members, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, 'w', compression=method) as zf:
        for name, data in members:
            zf.writestr(name, data)


def stray(x, W):
    """The reference figures of one captured batch split over W devices."""
    x = x.astype(np.float64).reshape(x.shape[0], x.shape[1], -1)
    N = x.shape[0] * x.shape[2]
    mean = x.mean(axis=(0, 2))
    var = x.var(axis=(0, 2))
    live = var > 0
    z2, v2, samples, theory, held, rows = 0.0, 0.0, 0, 0.0, 0, 0
    for shard in np.array_split(x, W, axis=0):
        if shard.shape[0] == 0:
            continue
        n = shard.shape[0] * shard.shape[2]
        held += 1
        rows += shard.shape[0]
        theory += (1 / n - 1 / N) * N / (N - 1)
        dm = shard.mean(axis=(0, 2))
        dv = shard.var(axis=(0, 2))
        z2 += float((((dm - mean) ** 2)[live] / var[live]).sum())
        v2 += float((((dv / var) - 1) ** 2)[live].sum())
        samples += int(live.sum())
    mean_theory = theory / held
    values = rows * x.shape[2] / held
    ratio = (z2 / samples) / mean_theory
    return {
        'rows_per_device': rows / held,
        'values_per_device': values,
        'mean_stray': (z2 / samples) ** 0.5,
        'mean_stray_iid': mean_theory ** 0.5,
        'noise_ratio': ratio,
        'effective_n': values / ratio,
        'var_stray_rms': (v2 / samples) ** 0.5,
        '_pool': (z2, mean_theory * samples, samples),
    }


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    acts = os.path.join(OUT, 'acts.npz')
    subprocess.run([sys.executable, CAPTURE, '--demo', '--steps', '3', '--batch', '16', '--out', acts], check=True)
    subprocess.run([sys.executable, CAPTURE, '--demo', '--steps', '1', '--batch', '8', '--compress', '--out', os.path.join(OUT, 'acts-deflated.npz')], check=True)

    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 3, 2, 2)).astype(np.float32)
    y = rng.standard_normal((5, 4))
    np.savez_compressed(os.path.join(OUT, 'plain.npz'), x=x, y=y)
    expected = {
        'numpy': np.__version__,
        'torch': torch.__version__,
        'plain': {'x': {'shape': list(x.shape), 'values': [float(v) for v in x.ravel()]},
                  'y': {'shape': list(y.shape), 'values': [float(v) for v in y.ravel()]}},
        'compare': {},
        'refused': {},
    }

    z = np.load(acts)
    manifest = json.loads(zipfile.ZipFile(acts).read('manifest.json'))
    for W in (4, 8):
        per_layer = {}
        for layer in manifest['layers']:
            steps = [stray(z[m[:-4]], W) for m in layer['members']]
            z2 = sum(s['_pool'][0] for s in steps)
            th = sum(s['_pool'][1] for s in steps)
            n = sum(s['_pool'][2] for s in steps)
            values = sum(s['values_per_device'] for s in steps) / len(steps)
            for s in steps:
                del s['_pool']
            per_layer[layer['name']] = {
                'steps': steps,
                'summary': {'mean_stray': (z2 / n) ** 0.5, 'mean_stray_iid': (th / n) ** 0.5,
                            'noise_ratio': z2 / th, 'effective_n': values / (z2 / th)},
            }
        expected['compare'][str(W)] = per_layer

    refused = expected['refused']
    good = npy_bytes(x)
    with open(os.path.join(OUT, 'not-a-zip.npz'), 'wb') as f:
        f.write(good)
    refused['not-a-zip.npz'] = 'not an .npz (zip) archive'
    data = open(os.path.join(OUT, 'plain.npz'), 'rb').read()
    with open(os.path.join(OUT, 'truncated.npz'), 'wb') as f:
        f.write(data[: len(data) // 2])
    refused['truncated.npz'] = 'no end of central directory'
    # A stored member with one data byte changed after the CRC was written.
    write_zip(os.path.join(OUT, 'bad-crc.npz'), [('x.npy', good)])
    raw = bytearray(open(os.path.join(OUT, 'bad-crc.npz'), 'rb').read())
    at = raw.index(good[-8:])
    raw[at] ^= 0x40
    open(os.path.join(OUT, 'bad-crc.npz'), 'wb').write(bytes(raw))
    refused['bad-crc.npz'] = "member 'x.npy' is corrupt (its CRC-32 does not match)"
    write_zip(os.path.join(OUT, 'bzip2.npz'), [('x.npy', good)], zipfile.ZIP_BZIP2)
    refused['bzip2.npz'] = "member 'x.npy' uses compression method 12"
    write_zip(os.path.join(OUT, 'int-member.npz'), [('x.npy', good), ('k.npy', npy_bytes(np.arange(6, dtype=np.int32)))])
    refused['int-member.npz'] = 'int-member.npz:k.npy'
    write_zip(os.path.join(OUT, 'stray-member.npz'), [('x.npy', good), ('notes.txt', b'hello')])
    refused['stray-member.npz'] = "unexpected member 'notes.txt'"
    write_zip(os.path.join(OUT, 'one-d.npz'), [('v.npy', npy_bytes(np.arange(6, dtype=np.float32)))])
    refused['one-d.npz'] = 'one-d.npz:v.npy: a batch-norm input is'
    m = {'format': 'syncbn-capture', 'version': 1, 'steps': 1,
         'layers': [{'name': 'bn', 'type': 'BatchNorm2d', 'num_features': 3, 'shape': [6, 3, 2, 2], 'dtype': 'float32',
                     'steps': [0], 'members': ['acts/000/step000.npy'], 'shapes': [[6, 3, 2, 2]]}]}

    def with_manifest(name, manifest, members):
        write_zip(os.path.join(OUT, name), members + [('manifest.json', json.dumps(manifest).encode())])

    missing = json.loads(json.dumps(m))
    missing['layers'][0]['members'] = ['acts/000/step001.npy']
    with_manifest('manifest-missing.npz', missing, [('acts/000/step000.npy', good)])
    refused['manifest-missing.npz'] = "member 'acts/000/step001.npy' is missing"
    shape = json.loads(json.dumps(m))
    shape['layers'][0]['shape'] = [6, 3, 4, 1]
    with_manifest('manifest-shape.npz', shape, [('acts/000/step000.npy', good)])
    refused['manifest-shape.npz'] = 'the manifest says [6,3,4,1]'
    with_manifest('manifest-unlisted.npz', m, [('acts/000/step000.npy', good), ('acts/001/step000.npy', good)])
    refused['manifest-unlisted.npz'] = "member 'acts/001/step000.npy' is not listed"
    other = dict(m, format='something-else')
    with_manifest('manifest-format.npz', other, [('acts/000/step000.npy', good)])
    refused['manifest-format.npz'] = "expected 'syncbn-capture'"
    write_zip(os.path.join(OUT, 'manifest-json.npz'), [('acts/000/step000.npy', good), ('manifest.json', b'{"format": ')])
    refused['manifest-json.npz'] = 'manifest.json is not valid JSON'
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f'wrote {OUT} ({total} bytes)')


if __name__ == '__main__':
    main()
