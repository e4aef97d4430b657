#!/usr/bin/env bash
# LibriSpeech -> BPE -> Conformer-CTC with strided-conv subsampling -> averaged model -> WER table.
#
# Usage (from the repository root, inside the project's venv):
#   bash recipes/librispeech/run.sh --root /data/LibriSpeech [--conf recipes/librispeech/conf/small.yaml]
#        [--ngpu 8] [--stage N] [--stop-stage M] [--avg 10] [--beam 50] [--lm-text FILE | --lm-arpa FILE]
#   multi-node: add --nnodes 2 --node-rank K --rdzv-endpoint HOST:PORT on every node (torchrun's rendezvous)
#
# Stages (each can be re-run; finished work is kept):
#   0 prepare   manifests for every subset under --root (or --download SUBSET..., resumable, SHA-256 checked)
#   1 tokenizer BPE (size from the config, e.g. bpe_vocab_size=1024 as an extra override) on the training text
#   2 train     torchrun --nproc_per_node=$NGPU -m asr.cli train ... --resume
#   3 average   the last $AVG checkpoints -> $EXP/model-avg$AVG; word confidence fitted on dev-clean
#   4 lm        optional word LM: a 4-gram built from --lm-text (text of a few million words: `asr lm build`
#               holds every n-gram in memory), or a ready ARPA file, plain or .gz, from --lm-arpa (e.g. OpenSLR
#               11's 4-gram.arpa.gz, made from all of librispeech-lm-norm.txt); weights and word confidence
#               tuned on dev-clean
#   5 decode    dev-clean, dev-other, test-clean, test-other: greedy, beam (and beam+LM with an LM)
#               -> $EXP/decode/METHOD/{wer-SET.json, recogs-SET.txt, errs-SET.txt}
#   6 results   $EXP/decode/wer-summary.txt and $EXP/RESULTS.md
set -euo pipefail

stage=0; stop_stage=6; root=""; download=""; data=data/librispeech
conf=recipes/librispeech/conf/small.yaml; exp=""; ngpu=1; nnodes=1; node_rank=0; rdzv=""
avg=10; beam=50; lm_text=""; lm_arpa=""; overrides=()
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2;; --stop-stage) stop_stage=$2; shift 2;;
    --root) root=$2; shift 2;; --download) download=$2; shift 2;; --data) data=$2; shift 2;;
    --conf) conf=$2; shift 2;; --exp) exp=$2; shift 2;; --ngpu) ngpu=$2; shift 2;;
    --nnodes) nnodes=$2; shift 2;; --node-rank) node_rank=$2; shift 2;; --rdzv-endpoint) rdzv=$2; shift 2;;
    --avg) avg=$2; shift 2;; --beam) beam=$2; shift 2;; --lm-text) lm_text=$2; shift 2;; --lm-arpa) lm_arpa=$2; shift 2;;
    --set) overrides+=("$2"); shift 2;;   # any TrainConfig field, e.g. --set max_steps=100
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
if [ -n "$lm_text" ] && [ -n "$lm_arpa" ]; then echo "give --lm-text or --lm-arpa, not both" >&2; exit 2; fi
exp=${exp:-exp/librispeech/$(basename "$conf" .yaml)}
common=("train_manifest=$data/train.jsonl" "valid_manifest=$data/dev-clean.jsonl" "out_dir=$exp" ${overrides[@]+"${overrides[@]}"})
sets="dev-clean dev-other test-clean test-other"

if run 0; then
  echo "stage 0: prepare manifests"
  args=(--out "$data")
  [ -n "$root" ] && args+=(--root "$root")
  # shellcheck disable=SC2206
  [ -n "$download" ] && args+=(--download $download)
  python recipes/librispeech/prepare.py "${args[@]}"
fi
if run 1; then
  echo "stage 1: tokenizer"
  asr tokenizer --config "$conf" "${common[@]}"
fi
if run 2; then
  echo "stage 2: train on $nnodes node(s) x $ngpu process(es)"
  launch=(--nproc_per_node="$ngpu" --nnodes="$nnodes")
  if [ -n "$rdzv" ]; then launch+=(--node_rank="$node_rank" --rdzv_backend=c10d --rdzv_endpoint="$rdzv");
  else launch+=(--standalone); fi
  python -m torch.distributed.run "${launch[@]}" -m asr.cli train --config "$conf" "${common[@]}" --resume
fi
final=$exp/model-avg$avg
if run 3; then
  echo "stage 3: average the last $avg checkpoints"
  asr average "$exp" --last "$avg" --out "$final"
  # word confidence of greedy output, fitted on dev-clean (asr/confidence.py); stage 4 adds the LM's
  asr tune-confidence --model "$final" --manifest "$data/dev-clean.jsonl" --save > "$exp/confidence-greedy.md" \
    || echo "note: $final has no greedy word confidence (the error above)"
fi
if run 4 && [ -n "$lm_text$lm_arpa" ]; then
  if [ -n "$lm_text" ]; then
    echo "stage 4: 4-gram LM from $lm_text"
    asr lm build --text "$lm_text" --order 4 --prune 0 1 1 2 --out "$final/lm"
  else
    echo "stage 4: the LM $lm_arpa"
    [ -f "$lm_arpa" ] || { echo "stage 4: $lm_arpa: no such file" >&2; exit 2; }
    rm -rf "$final/lm" && mkdir -p "$final/lm"
    case "$lm_arpa" in *.gz) gunzip -c "$lm_arpa" > "$final/lm/lm.arpa.tmp";; *) cp "$lm_arpa" "$final/lm/lm.arpa.tmp";; esac
    mv "$final/lm/lm.arpa.tmp" "$final/lm/lm.arpa"   # lm tune --save writes lm.json beside it
  fi
  asr lm tune --model "$final" --manifest "$data/dev-clean.jsonl" --beam-size "$beam" --save | tee "$exp/lm-tuning.md"
  asr tune-confidence --model "$final" --manifest "$data/dev-clean.jsonl" --lm --save > "$exp/confidence-lm.md" \
    || echo "note: $final has no LM word confidence (the error above)"
fi
if run 5; then
  echo "stage 5: decode"
  methods="greedy beam"
  [ -d "$final/lm" ] && methods="$methods lm"
  manifests=()
  for set in $sets; do
    if [ -f "$data/$set.jsonl" ]; then manifests+=("$data/$set.jsonl"); else echo "no $data/$set.jsonl; skipped"; fi
  done
  [ ${#manifests[@]} -gt 0 ] || { echo "stage 5: no set of '$sets' in $data" >&2; exit 2; }
  for method in $methods; do  # the model loads once per method; each set gets its own WER
    case $method in greedy) opts=();; beam) opts=(--beam-size "$beam");; lm) opts=(--lm);; esac
    asr evaluate --model "$final" --manifest "${manifests[@]}" --output-dir "$exp/decode/$method" ${opts[@]+"${opts[@]}"}
  done
fi
if run 6; then
  echo "stage 6: results"
  python recipes/common/wer_table.py "$exp/decode" --out "$exp/RESULTS.md" --summary "$exp/decode/wer-summary.txt"
fi
