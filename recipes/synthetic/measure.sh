#!/usr/bin/env bash
# The figures of the bundled model's card beyond run.sh stage 8's WER table, for a model directory.
#
# Usage (from the repository root, inside the project's venv, after run.sh stages 0-8):
#   bash recipes/synthetic/measure.sh MODEL_DIR EVAL_DIR OUT_DIR [DATA]
#   e.g. bash recipes/synthetic/measure.sh exp/synthetic-continue21/model-avg5 exp/synthetic-continue21/eval \
#          exp/measure/v21
# EVAL_DIR is stage 8's output (its greedy errs-dev.tsv and errs-test.tsv); DATA defaults to data/synthetic.
# Writes into OUT_DIR:
#   voices-test.md, voices-dev.md  WER per held-out voice (benchmarks/voices.py); voices-test.md also has the
#                                  neural engine (piper:joe) and festival's voices reading 60 test sentences,
#                                  voices-dev.md a row for dev without flite's awb (trained on since stage 27)
#   text-coverage.md               test words no training sentence (text/train.txt) holds, and the greedy
#                                  errors on them and on the rest (benchmarks/text_coverage.py)
#   train-*/                       `asr evaluate` on the first 300 utterances of training sets, as trained on
#                                  (TRAIN_SETS, default train_union train_vary train_festival train_piper;
#                                  a set not built is skipped)
#   examples/, examples-lm/        the bundled examples (pretrained/conformer-ctc-synthetic/examples), greedy / LM
#   backends/                      test greedy with int8 linear layers and with the ONNX export
#   edge-silence.md                silence or faint noise before / after the first 60 test utterances
#   segmentation.md                six 10-minute files, transcribed whole and one by one (seeds 0-5), the
#                                  segments with and without SEGMENT_PAD's zeros
#   long-test.md                   the test set as 13 long files, one per voice, transcribed whole (with and
#                                  without the zeros) and one by one
#   word-timestamps.md             isolated words with known times (seeds 0-3)
# Took about 5 minutes on 2 CPU cores (v21, 2026-12-02). Single runs: these machines vary 20-40% between runs.
set -euo pipefail
export PYTHONPATH="recipes/synthetic${PYTHONPATH:+:$PYTHONPATH}"  # benchmarks/voices.py speaks with the recipe's voices
[ $# -ge 3 ] || { sed -n 4,8p "$0" >&2; exit 2; }
model=$1; ev=$2; out=$3; data=${4:-data/synthetic}
examples=pretrained/conformer-ctc-synthetic/examples/references.jsonl
mkdir -p "$out"
python benchmarks/voices.py --errs "$ev/greedy/errs-test.tsv" --manifest "$data/test.jsonl" --model "$model" --n 60 \
  --probe piper:joe festival:ked_diphone festival:kal_diphone festival:cmu_us_slt_arctic_hts > "$out/voices-test.md"
python benchmarks/voices.py --errs "$ev/greedy/errs-dev.tsv" --manifest "$data/dev.jsonl" --without flite:awb \
  > "$out/voices-dev.md"  # awb: a training voice since stage 27
python benchmarks/text_coverage.py --train "$data/text/train.txt" --eval "$data/test.jsonl" \
  --errs "$ev/greedy/errs-test.tsv" > "$out/text-coverage.md"
for set in ${TRAIN_SETS:-train_union train_vary train_festival train_piper}; do
  [ -f "$data/$set.jsonl" ] || { echo "measure.sh: no $data/$set.jsonl, skipped" >&2; continue; }
  head -300 "$data/$set.jsonl" | sed "s#\"audio\": \"#\"audio\": \"$PWD/$data/#" > "$out/$set-300.jsonl"
  asr evaluate --model "$model" --manifest "$out/$set-300.jsonl" --output-dir "$out/train-$set" --threads 2
done
asr evaluate --model "$model" --manifest "$examples" --output-dir "$out/examples" --threads 2
asr evaluate --model "$model" --manifest "$examples" --output-dir "$out/examples-lm" --threads 2 --lm
asr evaluate --model "$model" --manifest "$data/test.jsonl" --output-dir "$out/backends/int8" --threads 2 --quantize
rm -rf "$out/onnx-model" && cp -r "$model" "$out/onnx-model"
asr export --model "$out/onnx-model"
asr evaluate --model "$out/onnx-model" --manifest "$data/test.jsonl" --output-dir "$out/backends/onnx" --threads 2 \
  --backend onnx
python benchmarks/edge_silence.py --model "$model" --manifest "$data/test.jsonl" --noise 0 0.001 > "$out/edge-silence.md"
python benchmarks/segmentation.py --model "$model" --seeds 0 1 2 3 4 5 --min 2 --edge 0.02 0.05 0.15 --pad 0 0.2 \
  > "$out/segmentation.md"
python benchmarks/segmentation.py --model "$model" --manifest "$data/test.jsonl" --min 2 --edge 0.02 --pad 0 0.2 \
  > "$out/long-test.md"
for seed in 0 1 2 3; do python benchmarks/word_timestamps.py --model "$model" --seed "$seed"; done \
  > "$out/word-timestamps.md"
echo "measure.sh: figures in $out"
