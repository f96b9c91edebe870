#!/usr/bin/env bash
# Purpose: teacher, baseline and student at the paper's scale (configs/gpu_indexnet*.toml) on a GPU lease.
#
# Batch 64, crop 512, inside one short lease of a GPU machine: a teacher, then a trimap-free baseline and a PPID student from that
# teacher with the same number of steps. The lease is minutes long, so the step counts are given (or
# sized by a throughput probe made first), and every run stops in time for its files to be packed.
#
#   tools/gpu_paper_runs.sh OUT_DIR           # data under ../shared/data, as for the CPU runs
#
# OUT_DIR gets log.txt, teacher.tgz.part-* (the teacher's logs and weights, cast to fp16: the lease
# returns 64 MB at most) and pair.tgz.part-* (baseline and student, fp32), in parts of 15 MB (the
# lease returns files of 16 MB at most): `cat NAME.tgz.part-* | tar -xzf -` at the repository root
# gives runs/indexnet-*-gpu/. A run its time limit stopped comes back with its last checkpoint, to be
# finished with `ppid train --resume` (or `ppid distill --resume`).
#
# Measured on an H200 lease (docs/HISTORY.md): `nproc` said 4, and the teacher ran
# data-bound with float32 samples: 167 images/s (2.6 steps/s at batch 64) with the preset's 14
# workers, 98-151 (median 125) with 4; the first 10 steps took 64 s. Side by side at batch 64 a baseline and a student need 67 +
# 71 GB of GPU memory, more than the card has, so the pair runs one after the other.
#
# Set PPID_SOURCE_COMMIT to the commit whose tree is sent: config.json records it, and the copy's
# .git may be stale and name an older commit.
#
# Knobs (environment): TOTAL_S, the whole script's wall budget in seconds (default 480); TEACHER_ITERS
# and PAIR_ITERS, the step counts, when the speed is known (else a probe sizes them, at the cost of
# one more run's start-up); PAIR=0 for the teacher alone; TEACHER_SHARE, the teacher's part of what
# is left after the probe (0.45); PAIR_FACTOR, the student's speed as a part of the teacher's (0.7: it
# also runs the teacher); PROBE_STEPS (20); PY (python3); EXTRA, more options for every run (the CPU
# smoke test: EXTRA="--device cpu --set crop=64 --set batch_size=2 --set workers=1").
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
PAIR_FACTOR=${PAIR_FACTOR:-0.7}
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

# --- step counts: given (TEACHER_ITERS, PAIR_ITERS), or sized from a probe of the teacher's speed --
# A probe costs a whole run's start-up; with the speed known from an earlier lease, give the counts.
if [ -n "${TEACHER_ITERS:-}" ]; then
  teacher_iters=$TEACHER_ITERS; pair_iters=${PAIR_ITERS:-0}
  left=$(( TOTAL_S - $(elapsed) - 40 ))
else
  rm -rf runs/gpu-probe
  t0=$(date +%s)
  "$PY" -m matting_cli train --config configs/gpu_indexnet.toml --role teacher --iters "$PROBE_STEPS" \
      --out runs/gpu-probe "${ARGS[@]}" --set val_every=0 --set checkpoint_every=100000 \
      --set log_every=$(( PROBE_STEPS / 2 )) || exit 1
  probe_wall=$(( $(date +%s) - t0 ))
  # The first log line carries the workers' start; the later ones are the steady rate.
  sps=$("$PY" - <<'EOF2'
import json
rows = [json.loads(line) for line in open("runs/gpu-probe/log.jsonl")]
batch = json.load(open("runs/gpu-probe/config.json"))["config"]["batch_size"]
steady = [row["images_per_s"] for row in rows[1:]] or [rows[-1]["images_per_s"]]
print(sorted(steady)[len(steady) // 2] / batch)
EOF2
)
  overhead=$(calc "max(5, $probe_wall - $PROBE_STEPS / $sps)")
  left=$(( TOTAL_S - $(elapsed) - 40 ))  # 40 s kept for packing
  teacher_iters=$(calc "max(10, int(($left * $TEACHER_SHARE - $overhead - 10) * $sps))")
  pair_iters=$(calc "max(10, int(($left * (1 - $TEACHER_SHARE) / 2 - $overhead - 10) * $sps * $PAIR_FACTOR))")
  echo "probe: ${probe_wall} s for $PROBE_STEPS steps, $sps steps/s steady, start-up ~${overhead} s"
fi
[ "${PAIR:-1}" = 1 ] || pair_iters=0
echo "teacher $teacher_iters steps; baseline and student $pair_iters steps each"

# --- teacher --------------------------------------------------------------------------------------
teacher_deadline=$(( TOTAL_S - $(elapsed) - 25 ))
[ "$pair_iters" = 0 ] || teacher_deadline=$(calc "int($left * $TEACHER_SHARE + 30)")
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
  if [ ! -f "$run/model.safetensors" ]; then
    # Stopped before its last step: bring back its last checkpoint (fp32 weights and momentum), so the
    # run can be resumed later with --resume, on any machine, instead of being lost with the lease.
    for file in checkpoint.json checkpoint.safetensors; do
      [ -f "$run/$file" ] && cp "$run/$file" "$stage/$run/"
    done
    return 0
  fi
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
tar -C /tmp/gpu_pack/teacher -czf /tmp/gpu_pack/teacher.tgz runs
split -b 15M /tmp/gpu_pack/teacher.tgz "$OUT/teacher.tgz.part-"  # the lease returns files of 16 MB at most
[ -f "$TEACHER/model.safetensors" ] || { echo "teacher did not finish: no student"; exit 1; }

# --- baseline, then student, the same steps -------------------------------------------------------
# One after the other: side by side at batch 64 the two needed 67 + 71 GB and the second ran out.
[ "$pair_iters" != 0 ] || { ls -l "$OUT"; echo "done at $(elapsed) s (no pair asked for)"; exit 0; }
rm -rf "$BASELINE" "$STUDENT"
timeout $(( (TOTAL_S - $(elapsed) - 30) / 2 )) "$PY" -m matting_cli train --config configs/gpu_indexnet.toml \
    --role baseline --iters "$pair_iters" --out "$BASELINE" "${ARGS[@]}"
echo "baseline: exit $?, at $(elapsed) s"
timeout $(( TOTAL_S - $(elapsed) - 30 )) "$PY" -m matting_cli distill --config configs/gpu_indexnet_ppid.toml \
    --teacher "$TEACHER" --iters "$pair_iters" --out "$STUDENT" "${ARGS[@]}"
echo "student: exit $?, at $(elapsed) s"
pack_run "$BASELINE" /tmp/gpu_pack/pair
pack_run "$STUDENT" /tmp/gpu_pack/pair
tar -C /tmp/gpu_pack/pair -czf /tmp/gpu_pack/pair.tgz runs
split -b 15M /tmp/gpu_pack/pair.tgz "$OUT/pair.tgz.part-"
ls -l "$OUT"
echo "done at $(elapsed) s"
