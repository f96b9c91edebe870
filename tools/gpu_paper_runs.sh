#!/usr/bin/env bash
# Issue 8's three runs at the paper's scale (configs/gpu_indexnet*.toml: batch 64, crop 512) inside one
# short lease of a GPU machine: a teacher, then a trimap-free baseline and a PPID student from that
# teacher side by side with the same number of steps. The lease is minutes long and gives one try, so
# the step counts come from a throughput probe made first, and every run stops in time for its files
# to be packed.
#
#   tools/gpu_paper_runs.sh OUT_DIR           # data under ../shared/data, as for the CPU runs
#
# OUT_DIR gets log.txt, teacher.tgz (the teacher's logs and weights, cast to fp16 to fit the lease's
# return limit of 16 MB per file) and pair.tgz.part-* (baseline and student, fp32; `cat` the parts
# back together). Unpack both at the repository root: they hold runs/indexnet-*-gpu/.
#
# Knobs (environment): TOTAL_S, the whole script's wall budget in seconds (default 480); TEACHER_SHARE,
# the teacher's part of what is left after the probe (0.45); PAIR_FACTOR, each of the two side-by-side
# runs' speed as a part of the lone teacher's (0.35: half the data workers each, and the student also
# runs the teacher); PROBE_STEPS (20); PY (python3); EXTRA, more options for every run (the CPU smoke
# test: EXTRA="--device cpu --set crop=64 --set batch_size=2 --set workers=1").
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: tools/gpu_paper_runs.sh OUT_DIR}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1

PY=${PY:-python3}
# The data workers do the CPU work; the training processes need few threads of their own.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
TOTAL_S=${TOTAL_S:-480}
TEACHER_SHARE=${TEACHER_SHARE:-0.45}
PAIR_FACTOR=${PAIR_FACTOR:-0.35}
PROBE_STEPS=${PROBE_STEPS:-20}
read -r -a EXTRA <<< "${EXTRA:-}"
DATA=../shared/data
ARGS=(--image-alpha-dir $DATA/alphamatting/train
      --bg-dir $DATA/backgrounds/bsds500/train --bg-dir $DATA/backgrounds/bsds500/val
      --val-dir $DATA/alphamatting/val -q "${EXTRA[@]}")
TEACHER=runs/indexnet-teacher-gpu BASELINE=runs/indexnet-baseline-gpu STUDENT=runs/indexnet-ppid-gpu
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
calc() { "$PY" -c "import math; print($1)"; }

# Where the machine is, so the log says what the numbers were measured on.
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
nproc

# --- probe: the teacher's steps per second, and what starting a run costs --------------------------
rm -rf runs/gpu-probe
t0=$(date +%s)
"$PY" -m matting_cli train --config configs/gpu_indexnet.toml --role teacher --iters "$PROBE_STEPS" \
    --out runs/gpu-probe "${ARGS[@]}" --set val_every=0 --set checkpoint_every=100000 --set log_every=5 || exit 1
probe_wall=$(( $(date +%s) - t0 ))
# The first log line carries the workers' start; the later ones are the steady rate.
sps=$("$PY" - <<'EOF'
import json
rows = [json.loads(line) for line in open("runs/gpu-probe/log.jsonl")]
batch = json.load(open("runs/gpu-probe/config.json"))["config"]["batch_size"]
steady = [row["images_per_s"] for row in rows[1:]] or [rows[-1]["images_per_s"]]
print(sorted(steady)[len(steady) // 2] / batch)
EOF
)
overhead=$(calc "max(5, $probe_wall - $PROBE_STEPS / $sps)")
left=$(( TOTAL_S - $(elapsed) - 40 ))  # 40 s kept for packing
teacher_iters=$(calc "max(10, int(($left * $TEACHER_SHARE - $overhead - 10) * $sps))")
pair_iters=$(calc "max(10, int(($left * (1 - $TEACHER_SHARE) - 1.5 * $overhead - 20) * $sps * $PAIR_FACTOR))")
echo "probe: ${probe_wall} s for $PROBE_STEPS steps, $sps steps/s steady, start-up ~${overhead} s;" \
     "teacher $teacher_iters steps, baseline and student $pair_iters steps each"

# --- teacher --------------------------------------------------------------------------------------
teacher_deadline=$(calc "int($left * $TEACHER_SHARE + 30)")
rm -rf "$TEACHER"
timeout "$teacher_deadline" "$PY" -m matting_cli train --config configs/gpu_indexnet.toml --role teacher \
    --iters "$teacher_iters" --out "$TEACHER" "${ARGS[@]}"
echo "teacher: exit $?, at $(elapsed) s"

pack_run() {  # pack_run RUN STAGE [fp16]: RUN's logs and weights (no checkpoints) into STAGE/RUN
  local run=$1 stage=$2
  mkdir -p "$stage/$run"
  for file in config.json log.jsonl val.jsonl stretches.jsonl curves.png; do
    [ -f "$run/$file" ] && cp "$run/$file" "$stage/$run/"
  done
  [ -f "$run/model.safetensors" ] || return 0
  if [ "${3:-}" = fp16 ]; then
    "$PY" - "$run/model.safetensors" "$stage/$run/model.safetensors" <<'EOF'
import sys
from safetensors import safe_open
from safetensors.torch import save_file
with safe_open(sys.argv[1], "pt") as source:
    metadata = source.metadata()
    tensors = {key: source.get_tensor(key) for key in source.keys()}
save_file({key: value.half() if value.is_floating_point() else value for key, value in tensors.items()},
          sys.argv[2], metadata=metadata)
EOF
  else
    cp "$run/model.safetensors" "$stage/$run/"
  fi
}
rm -rf /tmp/gpu_pack && mkdir -p /tmp/gpu_pack/teacher /tmp/gpu_pack/pair
pack_run "$TEACHER" /tmp/gpu_pack/teacher fp16
tar -C /tmp/gpu_pack/teacher -czf "$OUT/teacher.tgz" runs
[ -f "$TEACHER/model.safetensors" ] || { echo "teacher did not finish: no student"; exit 1; }

# --- baseline and student side by side, the same steps --------------------------------------------
pair_deadline=$(( TOTAL_S - $(elapsed) - 30 ))
half=$(( $(nproc) / 2 - 1 )); [ "$half" -ge 1 ] || half=1
rm -rf "$BASELINE" "$STUDENT"
timeout "$pair_deadline" "$PY" -m matting_cli train --config configs/gpu_indexnet.toml --role baseline \
    --iters "$pair_iters" --out "$BASELINE" "${ARGS[@]}" --workers "$half" &
baseline_pid=$!
timeout "$pair_deadline" "$PY" -m matting_cli distill --config configs/gpu_indexnet_ppid.toml --teacher "$TEACHER" \
    --iters "$pair_iters" --out "$STUDENT" "${ARGS[@]}" --workers "$half" &
student_pid=$!
wait "$baseline_pid"; echo "baseline: exit $?, at $(elapsed) s"
wait "$student_pid"; echo "student: exit $?, at $(elapsed) s"
pack_run "$BASELINE" /tmp/gpu_pack/pair
pack_run "$STUDENT" /tmp/gpu_pack/pair
tar -C /tmp/gpu_pack/pair -czf /tmp/gpu_pack/pair.tgz runs
split -b 15M /tmp/gpu_pack/pair.tgz "$OUT/pair.tgz.part-"
ls -l "$OUT"
echo "done at $(elapsed) s"
