#!/usr/bin/env bash
# Issue 8's runs, one after another on both cores (faster here than two runs side by side; see
# docs/TRAINING_RUNS.md). Each run starts if its folder is new, resumes from its last checkpoint if
# not, and is skipped once it has its model.safetensors. Stop it any time (Ctrl-C, kill): the next call
# continues where the last checkpoint left off.
#
#   tools/train_queue.sh                 # every run, in order
#   tools/train_queue.sh indexnet-ppid   # only the runs named
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
CLI=.venv/bin/ppid
DATA=(--image-alpha-dir ../shared/data/alphamatting/train
      --bg-dir ../shared/data/backgrounds/bsds500/train --bg-dir ../shared/data/backgrounds/bsds500/val
      --val-dir ../shared/data/alphamatting/val --workers 1)
# The pseudo-labelled photos (alpha predicted by P3M-Net and GFM, not ground truth), added to the real ones.
PSEUDO=(--photo-dir ../shared/data/pseudo_labelled/am2k_animals/image
        --photo-alpha-dir ../shared/data/pseudo_labelled/am2k_animals/alpha_gfm_pred
        --photo-dir ../shared/data/pseudo_labelled/p3m_portraits/original
        --photo-alpha-dir ../shared/data/pseudo_labelled/p3m_portraits/alpha_p3mnet_pred)
DISTILL=(distill --config configs/cpu_indexnet_ppid.toml --teacher runs/indexnet-teacher)
# Recipes run under more than one seed: one array each, so a second seed is the same recipe.
BASELINE_FP32=(train --config configs/cpu_indexnet.toml --role baseline --amp none)
SIDE=(distill --config configs/cpu_indexnet_ppid_side.toml --teacher runs/indexnet-teacher)
# The side student with CLSD's and ALD's weights cut tenfold (the shipped student since the sixth session).
LIGHT=(--set lambda1=0.068 --set lambda2=0.34 --set alpha_w=0.91 --set beta_w=0.091)

run() {  # run NAME COMMAND...: start or resume runs/NAME
  local name=$1; shift
  local out=runs/$name
  if [ -f "$out/model.safetensors" ]; then echo "$name: finished"; return; fi
  if [ -f "$out/config.json" ]; then
    # --amp auto: bf16 where this machine has it natively, fp32 where it would be emulated; a run that
    # asked for fp32 (amp "none", the fp32 control) keeps it.
    local amp=auto
    if grep -q '"amp": "none"' "$out/config.json"; then amp=none; fi
    echo "$name: resuming (amp $amp)"; "$CLI" "$1" --out "$out" --resume --workers 1 --amp "$amp" -q
  else
    echo "$name: starting"; "$CLI" "$@" --out "$out" "${DATA[@]}" -q
  fi
}

SELECTED="$*"
queue() {  # queue NAME COMMAND...: run it unless names were given and this is not one of them
  if [ -n "$SELECTED" ] && [[ " $SELECTED " != *" $1 "* ]]; then return 0; fi
  run "$@"
}

queue indexnet-teacher  train --config configs/cpu_indexnet.toml --role teacher --iters 2000
queue indexnet-ppid     "${DISTILL[@]}"
queue indexnet-baseline train --config configs/cpu_indexnet.toml --role baseline
# CLSD with the Pearson distance, so the student cannot shut its encoder gates (docs/TRAINING_RUNS.md).
queue indexnet-ppid-pearson distill --config configs/cpu_indexnet_ppid_pearson.toml --teacher runs/indexnet-teacher
# ... and CLSD's same-layer term on each stage's own feature, so the deepest stage cannot hand its job
# to the projection of the one below (docs/TRAINING_RUNS.md).
queue indexnet-ppid-native distill --config configs/cpu_indexnet_ppid_native.toml --teacher runs/indexnet-teacher
# ... and the cross-layer branch kept out of the decoder, so a gate cannot close at no cost to the alpha:
# the alpha-only control below shut encoder.s4 by itself (docs/TRAINING_RUNS.md).
queue indexnet-ppid-side "${SIDE[@]}"
# Control: the student network trained on L_alpha alone (no CLSD, no ALD), same batches. Is it the
# distillation terms or the student's cross-layer merges that leave every student behind the baseline?
queue indexnet-student-alpha-only "${DISTILL[@]}" --semantic none --local none
# Control: the baseline again, fp32 from the first step to the last. The shipped baseline ran its first
# 400 steps in bf16 and was resumed at 400; is it a fair yardstick for the fp32 students?
queue indexnet-baseline-fp32 "${BASELINE_FP32[@]}"
# Second seeds: two runs of one recipe differed by more than the paper's margin (docs/TRAINING_RUNS.md).
queue indexnet-baseline-fp32-seed1 "${BASELINE_FP32[@]}" --seed 1
queue indexnet-ppid-side-seed1 "${SIDE[@]}" --seed 1
# The baseline's second seed in the precision --amp auto picks (bf16 where native: 0.9 h, against
# 2 h for the fp32 seed-1 run above, whose checkpoints were lost). It ships as
# weights/indexnet_baseline_run2.safetensors, the run-to-run spread bench/quality.py weighs verdicts by.
queue indexnet-baseline-seed1 train --config configs/cpu_indexnet.toml --role baseline --seed 1
# The side student with CLSD's and ALD's weights cut tenfold. It computes its baseline's alpha and kept
# its encoder open, yet at the preset's weights (CLSD 0.5 and ALD 0.22 of L_alpha's gradient at the
# start) its L_alpha ran 19-56% above the baseline's over steps 1001-1500; it needs no term to keep its
# gates open, so is there a small weight that helps at all (docs/TRAINING_RUNS.md, fifth session)?
queue indexnet-ppid-side-light "${SIDE[@]}" "${LIGHT[@]}"
# The paper's ablations (Tables 3-4) with the best student recipe so far, the light side student
# (docs/TRAINING_RUNS.md, sixth session): SD in place of CLSD, LD in place of ALD.
queue indexnet-sd-ald   "${SIDE[@]}" "${LIGHT[@]}" --semantic sd
queue indexnet-clsd-ld  "${SIDE[@]}" "${LIGHT[@]}" --local ld
# The paper's Table 4 (and the first row of each Table 3 block) distils locally only, with no semantic
# term: the light side student with ALD alone, then with LD alone. ALD alone also says whether ALD by
# itself is what costs the students' fit of the alpha (docs/TRAINING_RUNS.md, seventh session).
queue indexnet-ald      "${SIDE[@]}" "${LIGHT[@]}" --semantic none
queue indexnet-ld       "${SIDE[@]}" "${LIGHT[@]}" --semantic none --local ld
# Does the pseudo-labelled data help (issue 8 asks to measure it)? The baseline's recipe and budget with
# 25 pseudo-labelled photos beside the 18 real ones (each epoch draws every photo once, so 58% of the
# samples are pseudo-labelled), judged against the two baseline runs' spread.
queue indexnet-baseline-pseudo train --config configs/cpu_indexnet.toml --role baseline "${PSEUDO[@]}"
# Second seeds of Table 4's pair: does ALD's lead over LD (1.7% and 7.0% on the transition region, one
# run each) hold with other batches?
queue indexnet-ald-seed1 "${SIDE[@]}" "${LIGHT[@]}" --semantic none --seed 1
queue indexnet-ld-seed1  "${SIDE[@]}" "${LIGHT[@]}" --semantic none --local ld --seed 1
# The shipped student's recipe on the pseudo-labelled baseline's data: the same batches as
# indexnet-baseline-pseudo, so a paired PPID-versus-baseline comparison on a second data mix, and a
# student that may know what a subject is on everyday photos (docs/TRAINING_RUNS.md, ninth and tenth sessions).
queue indexnet-ppid-pseudo "${SIDE[@]}" "${LIGHT[@]}" "${PSEUDO[@]}"
# The shipped student's recipe with seed 1: the same batches as indexnet-baseline-seed1 (bf16 both), so a
# second paired comparison of the student with its baseline, where the two seed-0 runs are one.
queue indexnet-ppid-light-seed1 "${SIDE[@]}" "${LIGHT[@]}" --seed 1
# A third pair on other batches: the seed-0 pair left the student 18-25% behind its baseline (whole-image
# SAD) and the seed-1 pair put it 11-17% ahead, so one more pair says which way the recipe leans.
queue indexnet-baseline-seed2 train --config configs/cpu_indexnet.toml --role baseline --seed 2
queue indexnet-ppid-light-seed2 "${SIDE[@]}" "${LIGHT[@]}" --seed 2
# A fourth pair (seed 3): over three pairs the student led by 8-9% on average with one pair behind; more
# pairs narrow how far that mean can be trusted (docs/TRAINING_RUNS.md, eleventh session).
queue indexnet-baseline-seed3 train --config configs/cpu_indexnet.toml --role baseline --seed 3
queue indexnet-ppid-light-seed3 "${SIDE[@]}" "${LIGHT[@]}" --seed 3
# The teacher trained on from its finished weights with a fresh, lower schedule: its validation SAD was
# still falling at step 2000 (42.6, 41.2, 34.8, 33.9 at 500-2000), and its transition SAD (33.86) is far
# from closed-form's 13.49 (docs/TRAINING_RUNS.md, twelfth session).
queue indexnet-teacher-more train --config configs/cpu_indexnet.toml --role teacher --init-from runs/indexnet-teacher/model.safetensors --iters 800 --lr 0.001 --val-every 400
# Two runs on from that one at the same lr, side by side (thirteenth session, docs/TRAINING_RUNS.md):
# plain, and with colour jitter on the foregrounds. The teacher read the koala's flag, a uniformly
# translucent cloth, as opaque where pale and clear where dark: does jitter teach it that alpha is not
# colour?
queue indexnet-teacher-more2 train --config configs/cpu_indexnet.toml --role teacher --init-from runs/indexnet-teacher-more/model.safetensors --iters 1000 --lr 0.001 --val-every 500
queue indexnet-teacher-jitter train --config configs/cpu_indexnet.toml --role teacher --init-from runs/indexnet-teacher-more/model.safetensors --iters 1000 --lr 0.001 --val-every 500 --set colour_jitter=true
# The pseudo-labelled pair trained on (fourteenth session, docs/TRAINING_RUNS.md): both warm-started from
# their shipped weights with a fresh schedule (lr 0.001, poly) for 1000 more steps, seed 1 so the two draw
# the same new batches, not the first run's again. Does the student's lead over its baseline change with
# the budget, and does the everyday-photo student improve with more steps?
queue indexnet-baseline-pseudo-more train --config configs/cpu_indexnet.toml --role baseline "${PSEUDO[@]}" --init-from weights/indexnet_baseline_pseudo.safetensors --iters 1000 --lr 0.001 --seed 1
queue indexnet-ppid-pseudo-more "${SIDE[@]}" "${LIGHT[@]}" "${PSEUDO[@]}" --init-from weights/indexnet_ppid_student_pseudo.safetensors --iters 1000 --lr 0.001 --seed 1
# The teacher with the pseudo-labelled photos (fourteenth session): on from the shipped (jittered) teacher for
# 1000 steps with the 25 pseudo-labelled photos beside the 18 real ones, jitter kept. 1000 more steps on the
# real photos alone moved its transition SAD by 1-2 (docs/TRAINING_RUNS.md): does more data move it further?
queue indexnet-teacher-pseudo train --config configs/cpu_indexnet.toml --role teacher "${PSEUDO[@]}" --init-from runs/indexnet-teacher-jitter/model.safetensors --iters 1000 --lr 0.001 --val-every 500 --set colour_jitter=true --seed 1
# The shipped student's recipe distilled from the new teacher (fifteenth session): seed 3, so the same
# batches as indexnet-baseline-seed3 and indexnet-ppid-light-seed3 (both on this Intel Xeon in bf16). The
# teacher is the only change from the seed-3 student: does a better teacher (transition SAD 28.63 against
# 33.86) move the student against its baseline?
queue indexnet-ppid-light-seed3-newteacher distill --config configs/cpu_indexnet_ppid_side.toml --teacher runs/indexnet-teacher-pseudo "${LIGHT[@]}" --seed 3
# ... and with seed 2 (the same batches as indexnet-baseline-seed2 and indexnet-ppid-light-seed2): a second
# pair for the teacher question, where the first teacher's student led its baseline most (31.2% real).
queue indexnet-ppid-light-seed2-newteacher distill --config configs/cpu_indexnet_ppid_side.toml --teacher runs/indexnet-teacher-pseudo "${LIGHT[@]}" --seed 2
# CLSD compared only in the transition band (sixteenth session): the seed-3 new-teacher student with
# clsd_region = "band". Every student erred more than its baseline in the sure background and less in the
# sure foreground (docs/RESULTS.md); does the foreground prior come from CLSD comparing every position?
queue indexnet-ppid-light-seed3-newteacher-band distill --config configs/cpu_indexnet_ppid_side.toml --teacher runs/indexnet-teacher-pseudo "${LIGHT[@]}" --set clsd_region=band --seed 3
# ... and CLSD compared only outside the band (the trimap's sure regions), same seed: the band run made the
# foreground prior stronger (docs/TRAINING_RUNS.md, sixteenth session), so does it come from the band?
queue indexnet-ppid-light-seed3-newteacher-known distill --config configs/cpu_indexnet_ppid_side.toml --teacher runs/indexnet-teacher-pseudo "${LIGHT[@]}" --set clsd_region=known --seed 3
# ... and CLSD outside the band with no ALD (next, not yet run): neither region removed the background shift,
# and both kept ALD, which compares in the band. Does the shift go with the band-side terms?
queue indexnet-ppid-light-seed3-newteacher-known-noald distill --config configs/cpu_indexnet_ppid_side.toml --teacher runs/indexnet-teacher-pseudo "${LIGHT[@]}" --set clsd_region=known --local none --seed 3
