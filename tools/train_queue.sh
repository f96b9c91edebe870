#!/usr/bin/env bash
# Purpose: the teacher, then baseline and PPID student pairs per seed, one run after another, resumable.
#
#   tools/train_queue.sh                          # every run, in order
#   tools/train_queue.sh teacher baseline-seed0   # only the runs named
#   SEEDS="0 1 2" ITERS=3000 tools/train_queue.sh
#
# Runs go to runs/$GROUP/NAME. A run starts if its folder is new, resumes from its last checkpoint if not,
# and is skipped once it has its model.safetensors (or FINISHED), so stop it any time and call it again. One run at a
# time: on a 2-core CPU one run on both cores is faster than two side by side. A baseline and a student
# of one seed draw the same batches, so their logs compare step by step (tools/compare_runs.py).
#
# Environment: GROUP (indexnet-cpu), CONFIG (configs/cpu_indexnet.toml), ITERS (the config's) and
# TEACHER_ITERS (ITERS) as step budgets, SEEDS ("0 1"), WORKERS (1), EXTRA (more options for every new
# run, e.g. EXTRA="--amp bf16"), STUDENT_EXTRA (for the students only, e.g. a departure from the paper:
# STUDENT_EXTRA="--set student_merge=side"), TEACHER (the students' teacher: runs/$GROUP/teacher, or a
# weights file such as weights/indexnet_teacher.safetensors), SHARED (../shared), PPID_CLI (.venv/bin/ppid).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
CLI=${PPID_CLI:-.venv/bin/ppid}
GROUP=${GROUP:-indexnet-cpu}
TEACHER=${TEACHER:-runs/$GROUP/teacher}
CONFIG=${CONFIG:-configs/cpu_indexnet.toml}
SEEDS=${SEEDS:-0 1}
WORKERS=${WORKERS:-1}
D=${SHARED:-../shared}/data
P=$D/pseudo_labelled
read -r -a EXTRA <<< "${EXTRA:-}"
read -r -a STUDENT_EXTRA <<< "${STUDENT_EXTRA:-}"
BUDGET=(); [ -n "${ITERS:-}" ] && BUDGET=(--iters "$ITERS")
TEACHER_BUDGET=("${BUDGET[@]}"); [ -n "${TEACHER_ITERS:-}" ] && TEACHER_BUDGET=(--iters "$TEACHER_ITERS")

# The real photos composited over BSDS500 backgrounds, plus the pseudo-labelled photos as they are
# (another network's alpha, not ground truth); validation on the real val photos.
DATA=(--image-alpha-dir "$D/alphamatting/train"
      --bg-dir "$D/backgrounds/bsds500/train" --bg-dir "$D/backgrounds/bsds500/val"
      --photo-dir "$P/am2k_animals/image" --photo-alpha-dir "$P/am2k_animals/alpha_gfm_pred"
      --photo-dir "$P/p3m_portraits/original" --photo-alpha-dir "$P/p3m_portraits/alpha_p3mnet_pred"
      --photo-dir "$P/bsds500_objects/image" --photo-alpha-dir "$P/bsds500_objects/alpha_isnet_cf"
      --val-dir "$D/alphamatting/val")

run() {  # run NAME COMMAND...: start or resume runs/$GROUP/NAME
  local name=$1; shift
  local out=runs/$GROUP/$name
  # FINISHED marks a run that ended and then lost its checkpoint and weights (shipped, or measured and dropped).
  if [ -f "$out/model.safetensors" ] || [ -f "$out/FINISHED" ]; then echo "$name: finished"; return; fi
  if [ -f "$out/config.json" ]; then
    # --amp auto: a resumed run may land on a machine where bf16 is emulated, and then trains in fp32.
    echo "$name: resuming"; "$CLI" "$1" --out "$out" --resume --workers "$WORKERS" --amp auto -q
  else
    echo "$name: starting"; "$CLI" "$@" --out "$out" "${DATA[@]}" --workers "$WORKERS" "${EXTRA[@]}" -q
  fi
}

SELECTED="$*"
queue() {  # queue NAME COMMAND...: run it unless names were given and this is not one of them
  if [ -n "$SELECTED" ] && [[ " $SELECTED " != *" $1 "* ]]; then return 0; fi
  run "$@"
}

queue teacher train --config "$CONFIG" --role teacher "${TEACHER_BUDGET[@]}"
for seed in $SEEDS; do
  queue "baseline-seed$seed" train --config "$CONFIG" --role baseline --seed "$seed" "${BUDGET[@]}"
  queue "ppid-seed$seed" distill --config "$CONFIG" --teacher "$TEACHER" --seed "$seed" "${BUDGET[@]}" \
    "${STUDENT_EXTRA[@]}"
done
