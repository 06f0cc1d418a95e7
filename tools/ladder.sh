#!/usr/bin/env bash
# Train the quality ladder (default, then low and high fine-tuned from it), export the presets and
# benchmark them. Every stage resumes where it stopped: rerun the script after a restart.
# Runs live under ~/.cache/anon-compression/runs (outside the work tree); see the model cards.
#   tools/ladder.sh [train|export|bench|all]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=~/.cache/anon-compression/runs
CLI=.venv/bin/anon-codec
PRESETS=anon_compression_codec/anon_compression_codec/presets
stage=${1:-all}

train() {  # config name; resumes when a checkpoint exists
  local name=$1 resume=()
  [ -f "$RUNS/$name/last.ckpt" ] && resume=(--resume)
  "$CLI" train --config "configs/$name.yaml" "${resume[@]}" >> "$RUNS/$name.log" 2>&1
}

mkdir -p "$RUNS"
test -f data/pool/pool.json || "$CLI" data pool --out data/pool
test -f data/offline/images/vtest_0000.png || "$CLI" data offline --out data/offline
if [[ $stage == train || $stage == all ]]; then
  train default
  "$CLI" export "$RUNS/default/last.ckpt" "$PRESETS/default.pt"  # the rungs start from it
  train low & train high & wait  # one thread each: the two rungs share the two cores
fi
if [[ $stage == export || $stage == all ]]; then
  for name in low high; do "$CLI" export "$RUNS/$name/last.ckpt" "$PRESETS/$name.pt"; done
fi
if [[ $stage == bench || $stage == all ]]; then
  "$CLI" bench --out "docs/bench/$(date +%F)"
fi
