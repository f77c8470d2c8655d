#!/usr/bin/env bash
# Saved results for test/report-command.test.ts: what each experiment's --json printed, on tiny
# settings, so that `syncbn-sim report` is tested on files as users keep them (and a change to a
# report's shape shows up as a fixture that no longer reads). Run from the repository root after
# `npm run build`: bash scripts/make_saved_fixtures.sh
set -euo pipefail
out=test/fixtures/saved
cli="node dist/bin/syncbn-sim.js"
acts=test/fixtures/npz/acts-deflated.npz
mkdir -p "$out"
$cli noise --batch-sizes 2,8 --devices 2 --threads 1 --trials 10 --channels 2 --json >"$out/noise.json"
$cli noise --input "$acts" --batch-sizes 2,4 --devices 2 --threads 1 --trials 10 --json >"$out/noise-layers.json"
$cli precision --rows 16 --channels 2 --devices 2 --threads 1 --trials 1 --dtype float32 --json >"$out/precision.json"
$cli cost --devices 2,8,64 --json >"$out/cost.json"
$cli train --model mlp --subset 64 --devices 2 --threads 1 --per-device-batch 4 --epochs 2 --precise-batches 1 \
  --bn local,sync --json >"$out/train.json"
$cli sweep --model mlp --subset 64 --per-device-batch 2,4 --bn local,sync --devices 2 --seeds 2 --epochs 1 \
  --jobs 1 --json >"$out/sweep.json"
$cli semantics --json >"$out/semantics.json"
$cli cost --collective all-reduce --bytes 1024 --nodes 2 --json >"$out/cost-collective.json"
$cli cost --model resnet50 --per-gpu-batch 32 --nodes 1,2 --json >"$out/cost-model.json"
$cli compare --devices 4 --shape 16,3,2,2 --json >"$out/compare.json"
$cli compare --input "$acts" --devices 2 --json >"$out/compare-layers.json"
