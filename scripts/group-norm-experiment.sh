#!/usr/bin/env bash
# The shape of the Group Normalization paper's batch-size result (Wu and He 2018, figure 1 and
# table 1: ResNet-50 on ImageNet, 8 GPUs, per-GPU batch 32/16/8/4/2) on BN-LeNet and Fashion-MNIST
# (Debian's dataset-fashion-mnist): test accuracy against per-device batch for local BN, sync BN
# and GroupNorm, 8 devices. Settings fixed before any run and not tuned: the learning rate 1.0 at
# global batch 256 (the lecture's) scaled linearly with the global batch, as the paper scales its
# learning rate; the same number of epochs at every batch size, as the paper; G = 2, the largest
# group count that divides every normalized layer of lenet-bn (6, 16, 120 and 84 channels).
# A 5000-example subset (and 5000 test examples) and 4 epochs keep it to about 15 minutes of CPU
# on 2 cores. Writes docs/runs/group-norm-batch-size.json.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
mkdir -p docs/runs
node dist/bin/syncbn-sim.js train --dataset fashion-mnist --model lenet-bn --devices 8 \
  --per-device-batch 32,16,8,4,2 --norm batch,group-norm:2 --bn local,sync \
  --lr 1.0 --lr-scaling linear --epochs 4 --subset 5000 --seed 0 --json > docs/runs/group-norm-batch-size.json
