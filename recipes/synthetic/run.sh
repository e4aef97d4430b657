#!/usr/bin/env bash
# Synthetic English corpus -> BPE -> Conformer-CTC (8x strided-conv subsampling) -> the bundled model.
#
# Usage (from the repository root, inside the project's venv):
#   bash recipes/synthetic/run.sh [--stage N] [--stop-stage M] [--hours H] [--text-dir DIR]
#
# Stages (each can be re-run; finished work is kept):
#   0 text      sentences from the books, normalized, dev/test books held out
#   1 corpus    espeak-ng + flite speech, held-out voices for dev/test, noise + reverb on train
#   2 tokenizer BPE on the training transcripts
#   3 train     asr train (resumes from the newest checkpoint if one exists)
#   4 average   the last $AVG checkpoints
#   5 evaluate  greedy WER/CER on dev and test -> $EXP/eval/
#   6 export    the averaged model -> pretrained/$NAME, with example recordings by held-out voices
# Needs: apt-get install espeak-ng flite
set -euo pipefail

stage=0; stop_stage=6; hours=20; text_dir=../shared/corpus/books
data=data/synthetic; exp=exp/synthetic; conf=recipes/synthetic/conf/cpu_small.yaml
avg=5; name=conformer-ctc-synthetic; jobs=2
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2;; --stop-stage) stop_stage=$2; shift 2;;
    --hours) hours=$2; shift 2;; --text-dir) text_dir=$2; shift 2;;
    --data) data=$2; shift 2;; --exp) exp=$2; shift 2;; --conf) conf=$2; shift 2;;
    --avg) avg=$2; shift 2;; --name) name=$2; shift 2;; --jobs) jobs=$2; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

if run 0; then
  echo "stage 0: text from $text_dir"
  python recipes/synthetic/prepare_text.py --text-dir "$text_dir" --out "$data/text"
fi
if run 1; then
  echo "stage 1: synthesize $hours h of training speech"
  python recipes/synthetic/synthesize.py --text "$data/text" --out "$data" --hours "$hours" --jobs "$jobs"
fi
if run 2; then
  echo "stage 2: BPE tokenizer"
  asr tokenizer --config "$conf" "train_manifest=$data/train.jsonl" "out_dir=$exp"
fi
if run 3; then
  echo "stage 3: train"
  asr train --config "$conf" "train_manifest=$data/train.jsonl" "valid_manifest=$data/dev.jsonl" "out_dir=$exp" --resume
fi
if run 4; then
  echo "stage 4: average the last $avg checkpoints"
  asr average "$exp" --last "$avg" --out "$exp/model-avg$avg"
fi
if run 5; then
  echo "stage 5: evaluate"
  mkdir -p "$exp/eval"
  for set in dev test; do
    asr evaluate --model "$exp/model-avg$avg" --manifest "$data/$set.jsonl" --output-dir "$exp/eval" | tee "$exp/eval/wer-$set.txt"
  done
fi
if run 6; then
  echo "stage 6: export to pretrained/$name"
  mkdir -p "pretrained/$name"   # README.md and examples/ there are kept
  cp "$exp/model-avg$avg"/* "pretrained/$name/"
  python recipes/synthetic/make_examples.py --text "$data/text/test.txt" --out "pretrained/$name/examples"
  echo "$name" > pretrained/DEFAULT
fi
