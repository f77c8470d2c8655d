#!/usr/bin/env bash
# The lecture's experiment, as reported in the README: BN-LeNet on Fashion-MNIST (Debian's
# dataset-fashion-mnist), learning rate 1.0, global batch 256, 10 epochs, plain SGD, seed 0.
# Writes one JSON report per group of runs into docs/runs/. About 45 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
CLI=(node dist/bin/syncbn-sim.js train --dataset fashion-mnist --model lenet-bn --epochs 10 --lr 1.0 --seed 0 --json)
mkdir -p docs/runs
# One device, and 8 devices with sync and with local BN (per-device batch 32).
"${CLI[@]}" --devices 1 --batch 256 --bn sync > docs/runs/lecture-1-device.json
"${CLI[@]}" --devices 8 --batch 256 --bn sync,local > docs/runs/lecture-8-devices.json
# Small per-device batches on 8 devices; the learning rate follows the linear scaling rule from
# 1.0 at batch 256 (0.125 at global batch 32, 0.0625 at 16), chosen before any run, not tuned.
"${CLI[@]}" --devices 8 --per-device-batch 4,2 --bn local,group:2,sync --lr-scaling linear > docs/runs/lecture-small-batches.json
