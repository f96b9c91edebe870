#!/usr/bin/env bash
# Purpose: old against new backbone init at the CPU recipe's first 500 steps, same seeds and batches.
#
#   tools/init_comparison.sh                        # every run below, in order, resumable
#   tools/init_comparison.sh newinit-batch-seed3    # only the runs named
#
# Runs go to runs/initcmp/NAME. Each is a trimap-free baseline of 500 steps on the 18 real photos
# composited over BSDS500 (the data the old-init runs had, camera effects off so the batches match),
# validated on the real val photos; the teacher keeps the old teacher's 2000-step schedule so its step-500
# validation compares with the old teacher's val.jsonl. The old-init runs need the code before the init
# fix: check it out into a worktree (git worktree add /tmp/oldinit e780074) and set OLD_CLI to its ppid.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
CLI=${PPID_CLI:-.venv/bin/ppid}
OLD_CLI=${OLD_CLI:-}
D=${SHARED:-../shared}/data
DATA=(--image-alpha-dir "$D/alphamatting/train" --bg-dir "$D/backgrounds/bsds500/train"
      --bg-dir "$D/backgrounds/bsds500/val" --val-dir "$D/alphamatting/val" --workers 1)
NEW=(--set camera_effects=false)

run() {  # run NAME CLI COMMAND...: start or resume runs/initcmp/NAME
  local name=$1 cli=$2; shift 2
  local out=runs/initcmp/$name
  if [ -f "$out/model.safetensors" ]; then echo "$name: finished"; return; fi
  if [ -z "$cli" ]; then echo "$name: skipped (set OLD_CLI)"; return; fi
  if [ -f "$out/config.json" ]; then echo "$name: resuming"; "$cli" "$1" --out "$out" --resume -q
  else echo "$name: starting"; "$cli" "$@" --out "$out" "${DATA[@]}" -q; fi
}

SELECTED="$*"
queue() {
  if [ -n "$SELECTED" ] && [[ " $SELECTED " != *" $1 "* ]]; then return 0; fi
  run "$@"
}

BASELINE=(train --config configs/cpu_indexnet.toml --role baseline --iters 500)
baselines() {  # baselines SEED: new init with batch statistics, with frozen BatchNorms, then the old init
  queue "newinit-batch-seed$1" "$CLI" "${BASELINE[@]}" --seed "$1" "${NEW[@]}" --set encoder_bn=batch
  queue "newinit-frozen-seed$1" "$CLI" "${BASELINE[@]}" --seed "$1" "${NEW[@]}" --set encoder_bn=frozen
  queue "oldinit-seed$1" "$OLD_CLI" "${BASELINE[@]}" --seed "$1"
}

teacher() {  # the old teacher's command and schedule, stopped (SIGTERM: checkpoint, clean exit) once validated at step 500
  local name=newinit-teacher-seed0 out=runs/initcmp/newinit-teacher-seed0
  if [ -n "$SELECTED" ] && [[ " $SELECTED " != *" $name "* ]]; then return 0; fi
  if grep -qs '"step": 500' "$out/val.jsonl"; then echo "$name: validated at step 500"; return; fi
  local args=(train --config configs/cpu_indexnet.toml --role teacher --iters 2000 --seed 0 "${NEW[@]}"
              --set "encoder_bn=${TEACHER_ENCODER_BN:-batch}" --out "$out" "${DATA[@]}" -q)
  if [ -f "$out/config.json" ]; then args=(train --out "$out" --resume -q); fi
  echo "$name: running to its step-500 validation"
  "$CLI" "${args[@]}" & local pid=$!
  until grep -qs '"step": 500' "$out/val.jsonl" || ! kill -0 "$pid" 2>/dev/null; do sleep 10; done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || true
}

baselines 3
teacher
baselines 4
