#!/usr/bin/env bash
# Purpose: get the repository ready for a lent GPU machine's call (data in, weights aside), and back.
#
#   tools/gpu_lease.sh prepare   # data into gpu_data/ (ignored), weights aside, the command to run
#   tools/gpu_lease.sh restore   # weights back; run it whatever the call did
#
# Why: a call sends the working tree (tracked and untracked files that git does not ignore) plus the
# ignored folders it is told to carry, 64 MiB at most, and nothing beside the repository, so neither
# ../shared nor the ~300 MB of tracked weights can go. `prepare` copies the training and validation data
# (39 MB) into gpu_data/, which the call carries and the command links to ../shared/data, and moves every
# tracked weights file but the ImageNet MobileNetV2 backbone (which the runs start from) to
# /tmp/ppid-weights-aside.
set -euo pipefail
cd "$(dirname "$0")/.."
ASIDE=/tmp/ppid-weights-aside
KEEP=weights/mobilenetv2_imagenet.safetensors
LIMIT=$((64 * 1024 * 1024))

case "${1:-}" in
prepare)
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qx '/gpu_data/' "$exclude" 2>/dev/null || echo '/gpu_data/' >> "$exclude"
  rm -rf gpu_data
  mkdir -p gpu_data/alphamatting gpu_data/backgrounds/bsds500
  cp -r ../shared/data/alphamatting/train ../shared/data/alphamatting/val gpu_data/alphamatting/
  cp -r ../shared/data/backgrounds/bsds500/train ../shared/data/backgrounds/bsds500/val gpu_data/backgrounds/bsds500/
  git ls-files -z '*.safetensors' | while IFS= read -r -d '' file; do
    if [ "$file" != "$KEEP" ] && [ -f "$file" ]; then
      mkdir -p "$ASIDE/$(dirname "$file")"
      mv "$file" "$ASIDE/$file"
    fi
  done
  tree=$( (git ls-files -z; git ls-files -z -o --exclude-standard) | { xargs -0 -r stat -c %s 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}')
  data=$(du -sb gpu_data | cut -f1)
  echo "sent: $(( (tree + data) / 1048576 )) MiB of the 64 MiB a call takes (tree $(( tree / 1048576 )), gpu_data $(( data / 1048576 )))"
  [ $((tree + data)) -lt $LIMIT ] || { echo "too large for a call: restore, then leave more out" >&2; exit 1; }
  [ -z "$(git status --porcelain --untracked-files=no | grep -v '^ D ')" ] || echo "note: uncommitted changes besides the weights set aside"
  echo "run, with carry [\"gpu_data\"]:"
  echo "  [ -e ../shared/data ] || { mkdir -p ../shared && ln -s \"\$PWD/gpu_data\" ../shared/data; };" \
       "export PYTHONUNBUFFERED=1 PPID_SOURCE_COMMIT=$(git rev-parse HEAD);" \
       "TOTAL_S=560 TEACHER_ITERS=800 PAIR=0 bash tools/gpu_paper_runs.sh \$OUT"
  echo "then: tools/gpu_lease.sh restore"
  ;;
restore)
  if [ -d "$ASIDE" ]; then
    (cd "$ASIDE" && find . -type f -name '*.safetensors' -print0) | while IFS= read -r -d '' file; do
      mkdir -p "$(dirname "$file")"
      mv "$ASIDE/$file" "$file"
    done
    rm -rf "$ASIDE"
  fi
  missing=$(git ls-files -d)
  [ -z "$missing" ] || { echo "still missing: $missing" >&2; exit 1; }
  echo "weights back; every tracked file is present"
  ;;
*)
  echo "usage: tools/gpu_lease.sh prepare|restore" >&2
  exit 2
  ;;
esac
