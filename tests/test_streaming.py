"""Streaming: chunk masks, the chunk-by-chunk encoder, and the Stream API on a trained tiny model."""

import json
import random
import struct

import numpy as np
import pytest
import soundfile as sf
import torch

import asr
from asr.checkpoint import save_model_dir
from asr.confidence import FEATURE, Calibration
from asr.encoder import chunk_mask
from asr.errors import ASRError, ModelError
from asr.metrics import score
from asr.data import read_manifest
from asr.model import CTCModel
from asr.streaming import accept_many, chunk_frames
from asr.tokenizer import CharTokenizer
from asr.warmstart import to_streaming
from conftest import TINY, run_cli, tiny_model_config, tiny_train_config


def _random_streaming_dir(tmp_path, **overrides):
    """A model directory holding a randomly initialized streaming model (8x, like the bundled one)."""
    torch.manual_seed(0)
    cfg = tiny_model_config(strides=[2, 2, 2], streaming=True, vocab_size=29, **overrides)
    model = CTCModel(cfg).eval()
    model.frontend.prior_mean.fill_(-4.0)
    model.frontend.prior_var.fill_(6.0)
    tokenizer = CharTokenizer(list(" ABCDEFGHIJKLMNOPQRSTUVWXYZ'"))
    return save_model_dir(tmp_path / "stream-model", cfg, model.state_dict(), tokenizer)


def test_chunk_mask_allows_own_chunk_and_left_chunks():
    mask = chunk_mask(7, chunk=2, left=1)
    assert mask[0].tolist() == [True, True, False, False, False, False, False]
    assert mask[5].tolist() == [False, False, True, True, True, True, False]  # chunks 1 and 2
    assert mask[6].tolist() == [False, False, False, False, True, True, True]
    assert chunk_mask(5, chunk=2, left=-1)[4].all()


@pytest.mark.parametrize(
    "chunk_ms,left_ms,conv_future", [(320, 3600, -1), (160, 160, -1), (80, 0, -1), (1000, 500, -1), (320, 640, 0)]
)
def test_stream_in_any_pieces_equals_offline_chunk_mask(tmp_path, chunk_ms, left_ms, conv_future):
    """Audio fed in pieces of any size (1 sample to seconds) gives the log-probs of the whole utterance run
    offline through the same chunk mask."""
    model = asr.load_model(_random_streaming_dir(tmp_path, conv_future=conv_future), device="cpu")
    wave = torch.randn(16000 * 4 + 77) * 0.1
    size, left = chunk_frames(model.model, chunk_ms, left_ms)
    with torch.no_grad():
        offline, _ = model.model(wave[None], torch.tensor([wave.numel()]), chunk=(size, left))
    stream = model.stream(chunk_ms=chunk_ms, left_ms=left_ms)
    rng, pos = random.Random(chunk_ms), 0
    while pos < wave.numel():
        step = rng.choice([1, 3, 160, 511, 1600, 7000])
        stream.accept(wave[pos : pos + step].numpy())
        pos += step
    stream.finish()
    assert stream.log_probs.shape == offline[0].shape
    torch.testing.assert_close(stream.log_probs, offline[0], atol=1e-4, rtol=0)


def test_many_streams_batched_equal_each_stream_alone(tmp_path):
    """Streams that started at different times (so their caches differ in length) and receive pieces of
    different sizes, run together by accept_many, give each the log-probs and words of running it alone."""
    model = asr.load_model(_random_streaming_dir(tmp_path), device="cpu")
    rng = random.Random(7)
    waves = [torch.randn(n).numpy() * 0.1 for n in (40000, 25000, 52000, 9000)]
    starts = [0, 3, 5, 9]  # the round in which each stream joins
    together = [model.stream(chunk_ms=320, left_ms=640) for _ in waves]
    alone = [model.stream(chunk_ms=320, left_ms=640) for _ in waves]
    positions, updates = [0] * len(waves), [[] for _ in waves]
    for round_ in range(80):
        live = [i for i, w in enumerate(waves) if starts[i] <= round_ and positions[i] < len(w)]
        pieces = []
        for i in live:
            step = rng.choice([400, 1600, 3000, 5000])
            pieces.append(waves[i][positions[i] : positions[i] + step])
            positions[i] += step
        for i, update in zip(live, accept_many([together[i] for i in live], pieces)):
            updates[i].extend(update.words)
    for i, wave in enumerate(waves):
        expected = alone[i].accept(wave).words
        final_together, final_alone = together[i].finish(), alone[i].finish()
        torch.testing.assert_close(together[i].log_probs, alone[i].log_probs, atol=1e-4, rtol=0)
        assert [w.word for w in updates[i]] == [w.word for w in expected]
        assert final_together.text == final_alone.text
    with pytest.raises(ModelError, match="twice"):
        accept_many([together[0], together[0]], [waves[0][:10], waves[0][:10]])


def test_chunked_padded_batch_equals_one_at_a_time(tmp_path):
    model = asr.load_model(_random_streaming_dir(tmp_path), device="cpu").model
    waves = [torch.randn(n) * 0.1 for n in (16000, 9000, 23000)]
    batch = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    lengths = torch.tensor([w.numel() for w in waves])
    with torch.no_grad():
        together, frames = model(batch, lengths, chunk=(3, 2))
        for i, w in enumerate(waves):
            alone, _ = model(w[None], lengths[i : i + 1], chunk=(3, 2))
            torch.testing.assert_close(together[i, : frames[i]], alone[0], atol=1e-4, rtol=0)


def test_a_chunk_longer_than_the_utterance_is_full_context(tmp_path):
    model = asr.load_model(_random_streaming_dir(tmp_path), device="cpu").model
    wave = torch.randn(1, 20000) * 0.1
    with torch.no_grad():
        full, _ = model(wave, torch.tensor([20000]))
        chunked, _ = model(wave, torch.tensor([20000]), chunk=(1000, -1))
        small, _ = model(wave, torch.tensor([20000]), chunk=(2, -1))
    torch.testing.assert_close(chunked, full, atol=1e-5, rtol=0)
    assert (small - full).abs().max() > 1e-3  # a small chunk does cut the context


def test_causal_convolution_ignores_the_future_and_chunks():
    """conv_future=0: a frame's output does not change with later frames, so chunking cuts nothing from it;
    conv_future=2 reads two frames ahead and no more."""
    from asr.encoder import _ConvModule

    torch.manual_seed(0)
    x = torch.randn(1, 12, 16)
    later = x.clone()
    later[:, 7:] = torch.randn(1, 5, 16)
    keep = torch.ones(1, 12, dtype=torch.bool)
    for future in (0, 2):
        conv = _ConvModule(16, 7, dropout=0.0, future=future).eval()
        with torch.no_grad():
            full, _ = conv(x, keep)
            changed, _ = conv(later, keep)
            chunked, _ = conv(x, keep, chunk=4)
        same = 7 - future  # frames whose window ends before frame 7
        torch.testing.assert_close(full[:, :same], changed[:, :same])
        assert not torch.allclose(full[:, same], changed[:, same])
        if future == 0:
            torch.testing.assert_close(chunked, full)


def test_to_streaming_keeps_the_encoder(tmp_path):
    """The streaming copy of a full-context model has the same weights; only the front end's normalization
    and the subsampling padding change, so its outputs stay close to the original's."""
    torch.manual_seed(0)
    model = CTCModel(tiny_model_config(strides=[2, 2, 2], vocab_size=29)).eval()
    streaming = to_streaming(model).eval()
    assert streaming.cfg.streaming and not model.cfg.streaming
    mine, theirs = model.state_dict(), streaming.state_dict()
    assert set(theirs) - set(mine) == {"frontend.prior_mean", "frontend.prior_var"}
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)


def test_full_context_model_cannot_stream(model_dir):
    model = asr.load_model(model_dir, device="cpu")
    with pytest.raises(ModelError, match="not a streaming model"):
        model.stream()


def test_stream_rejects_bad_audio(tmp_path):
    stream = asr.load_model(_random_streaming_dir(tmp_path), device="cpu").stream()
    with pytest.raises(asr.AudioError, match="mono"):
        stream.accept(np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(asr.AudioError, match="NaN"):
        stream.accept(np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(asr.AudioError, match="^stream audio: integer samples must be PCM"):
        stream.accept(np.zeros(10, dtype=np.int64))
    with pytest.raises(asr.AudioError, match="^audio: expected a path, .* got an array of <U"):
        stream.accept(["not", "samples"])
    stream.accept(np.zeros(800, dtype=np.int16))  # int16 PCM is taken as it comes from a device
    assert stream.seconds == pytest.approx(0.05)
    stream.finish()
    with pytest.raises(ModelError, match="finished"):
        stream.accept(np.zeros(10, dtype=np.float32))


@pytest.fixture(scope="module")
def streaming_exp(tmp_path_factory):
    """The tiny corpus learned by a streaming model, half of its batches with chunk masks, with silence before
    and after the speech in half of the utterances (a live stream starts and ends with some)."""
    from asr.train import train

    out = tmp_path_factory.mktemp("stream-exp")
    train(
        tiny_train_config(
            out,
            model=tiny_model_config(streaming=True),
            chunk_prob=0.5,
            chunk_max_frames=8,
            chunk_left_frames=16,
            max_steps=240,
            lead_silence=0.5,
            lead_silence_seconds=1.0,
            trail_silence=0.5,
            trail_silence_seconds=1.0,
        )
    )
    return out


def test_streaming_model_learns_and_streams_what_it_learned(streaming_exp):
    """Trained with chunk masks, the model reads its training utterances both offline and as a live stream
    of 320 ms chunks, and what the stream emits word by word is its final transcript."""
    model = asr.load_model(streaming_exp / "model", device="cpu")
    utts = read_manifest(TINY / "train.jsonl")
    offline = [model.transcribe(u.audio).text for u in utts]
    assert score([u.id for u in utts], [u.text for u in utts], offline).cer.rate <= 0.1
    streamed, emitted = [], 0
    for utt in utts:
        wave = asr.audio.load_audio(utt.audio).numpy()
        stream, words, partials = model.stream(chunk_ms=320), [], []
        for start in range(0, len(wave), 1600):  # 100 ms pieces, as from a microphone
            update = stream.accept(wave[start : start + 1600])
            words += update.words
            partials.append(update.partial)
        final = stream.finish()
        emitted += len(words)
        assert [w.word for w in words] == final.text.split()[: len(words)]  # emitted words are never revised
        # ... and scored as the alignment of the final transcript scores them (no calibration: no confidence)
        assert [(w.word, w.score, w.confidence) for w in words] == [
            (w.word, w.score, None) for w in final.words[: len(words)]
        ]
        assert all(w.start <= w.end <= final.duration + 0.2 for w in final.words)
        streamed.append(final.text)
    report = score([u.id for u in utts], [u.text for u in utts], streamed)
    assert report.cer.rate <= 0.05, report.cer.rate
    assert emitted >= 0.5 * sum(len(u.text.split()) - 1 for u in utts)  # words came out before the end

    calibration = Calibration(-2.0, -2.5)  # as `asr tune-confidence --save` would store it
    model.config["info"] = {"confidence": {"greedy": {"feature": FEATURE, "slope": -2.0, "intercept": -2.5}}}
    stream, wave = model.stream(chunk_ms=320), asr.audio.load_audio(utts[0].audio).numpy()
    words = stream.accept(wave).words + stream.finish().words
    assert words and all(w.confidence == round(calibration(w.score), 3) for w in words)


def _tiny_lm(directory):
    """A bigram LM of the tiny corpus' transcripts in ``directory`` (lm.arpa + lm.json)."""
    from asr.decoding import LMConfig
    from asr.lm import build_lm

    (directory / "text.txt").write_text("\n".join(u.text for u in read_manifest(TINY / "train.jsonl")) + "\n")
    LMConfig(directory, file=build_lm([directory / "text.txt"], 2, directory)["arpa"], lm_weight=1.0).save()


def test_stream_with_an_lm_is_the_lm_decoding_of_its_chunks(streaming_exp, tmp_path):
    """With an LM the stream runs flashlight's search chunk by chunk: its final transcript is what beam search
    with the LM gives on the same chunked log-probs (commit_pause=0: no search ended at a pause), the words it
    returned on the way are never revised, streams one after another share one decoder, and two streams at once
    each keep their own search."""
    utts = read_manifest(TINY / "train.jsonl")
    _tiny_lm(tmp_path)
    model = asr.load_model(streaming_exp / "model", device="cpu")
    model.chunk = chunk_frames(model.model, 320, 3600)
    expected = [t.text for t in model.transcribe_batch([u.audio for u in utts], lm=tmp_path)]
    model.chunk = None
    assert score([u.id for u in utts], [u.text for u in utts], expected).wer.rate <= 0.1
    waves = [asr.audio.load_audio(u.audio).numpy() for u in utts]
    streamed, returned = [], 0
    for wave in waves:
        stream, words = model.stream(chunk_ms=320, lm=tmp_path, commit_pause=0), []
        for start in range(0, len(wave), 1600):
            words += stream.accept(wave[start : start + 1600]).words
        final = stream.finish()
        assert [w.word for w in words] == final.text.split()[: len(words)]
        assert all(0 <= w.start <= w.end <= final.duration + 0.2 for w in words + final.words)
        streamed.append(final.text)
        returned += len(words)
    assert streamed == expected and returned > 0  # some words were final before their utterance ended
    assert [len(idle) for idle in model._online_decoders.values()] == [1]  # one decoder served every stream
    first, second = (model.stream(chunk_ms=320, lm=tmp_path, commit_pause=0) for _ in range(2))
    for start in range(0, max(len(waves[0]), len(waves[1])), 1600):  # interleaved, piece by piece
        first.accept(waves[0][start : start + 1600])
        second.accept(waves[1][start : start + 1600])
    assert [first.finish().text, second.finish().text] == expected[:2]
    with pytest.raises(ASRError, match="hotwords need beam search with an LM"):
        model.stream(chunk_ms=320, hotwords=["world"])
    with pytest.raises(ASRError, match="lm_weight only apply with lm="):
        model.stream(chunk_ms=320, lm_weight=1.0)


def _two_utterances() -> tuple[np.ndarray, list[str]]:
    """Two tiny-corpus utterances with 1.5 s of silence between them, 16 kHz float32."""
    utts = read_manifest(TINY / "train.jsonl")[:2]
    gap = np.zeros(24000, dtype=np.float32)
    waves = [asr.audio.load_audio(u.audio).numpy() for u in utts]
    return np.concatenate([gap[:4000], waves[0], gap, waves[1], gap]), [u.text for u in utts]


def _wav_stream(wave: np.ndarray, rate: int = 16000) -> bytes:
    """A WAV as a live writer sends it: sizes unknown (0xFFFFFFFF), 16-bit PCM."""
    pcm = (np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
        + pcm
    )


def test_stream_cli_reads_raw_pcm_and_wav_from_stdin(streaming_exp):
    """`... | asr stream -`: one final line per spoken segment (cut at the pause the recognizer or Silero VAD
    finds), with times, on stdout."""
    wave, texts = _two_utterances()
    raw = (wave * 32767).astype("<i2").tobytes()
    for stdin, vad in ((raw, "ctc"), (_wav_stream(wave), "silero")):
        result = run_cli("stream", "-", "--model", streaming_exp / "model", "--no-partials", "--vad", vad, stdin=stdin)
        assert result.returncode == 0, result.stderr
        lines = [line.split("\t") for line in result.stdout.splitlines()]
        assert len(lines) == 2  # one per spoken segment, cut at the pause
        assert score(["a", "b"], texts, [line[2] for line in lines]).cer.rate <= 0.1
        starts, ends = [float(line[0]) for line in lines], [float(line[1]) for line in lines]
        assert 0.1 < starts[0] < ends[0] < 1.6 < starts[1] < ends[1] < len(wave) / 16000


def test_stream_cli_jsonl_partials_and_finals_from_a_file(streaming_exp, tmp_path):
    wave, texts = _two_utterances()
    path = tmp_path / "two.wav"
    sf.write(path, wave, 16000)
    result = run_cli("stream", path, "--model", streaming_exp / "model", "--format", "jsonl", "--chunk-ms", 320)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    finals = [e for e in events if e["type"] == "final"]
    assert len(finals) == 2 and score(["a", "b"], texts, [e["text"] for e in finals]).cer.rate <= 0.1
    assert all(w["start"] >= e["start"] - 0.01 for e in finals for w in e["words"])
    assert all(w["score"] <= 0.0 and w["confidence"] is None for e in finals for w in e["words"])  # not calibrated
    partials = [e["text"] for e in events if e["type"] == "partial"]
    first = finals[0]["text"]
    assert any(p and p != first and first.startswith(p) for p in partials)  # words before the segment ended


def test_stream_cli_decodes_with_an_lm_and_refuses_contradictions(streaming_exp, tmp_path):
    """`asr stream --lm-dir D` reads both segments; --no-lm with an LM, and hotwords without one, are one-line
    errors (this model has no lm/ of its own, so it streams greedily unless given one)."""
    wave, texts = _two_utterances()
    path, lm = tmp_path / "two.wav", tmp_path / "lm"
    sf.write(path, wave, 16000)
    lm.mkdir()
    _tiny_lm(lm)
    model = streaming_exp / "model"
    result = run_cli("stream", path, "--model", model, "--lm-dir", lm, "--no-partials", "--vad", "ctc")
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t")[2] for line in result.stdout.splitlines()]
    assert len(lines) == 2 and score(["a", "b"], texts, lines).cer.rate <= 0.1
    for args, message in (
        (("--no-lm", "--lm-dir", lm), "--no-lm contradicts"),
        (("--commit-pause", "0.5"), "--commit-pause needs the LM"),
        (("--hotwords", "world"), "need the LM"),
        (("--lm-dir", lm, "--hotword-score", "2"), "--hotword-score needs --hotwords"),
    ):
        bad = run_cli("stream", path, "--model", model, *args)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and message in bad.stderr, bad.stderr


def test_stream_cli_silence_gives_nothing_and_bad_input_one_line(streaming_exp):
    model = streaming_exp / "model"
    result = run_cli("stream", "-", "--model", model, stdin=np.zeros(48000, dtype="<i2").tobytes())
    assert result.returncode == 0 and result.stdout == ""
    unknown_format = b"RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00" + b"\x07" * 16 + b"data\xff\xff\xff\xff"
    bad = run_cli("stream", "-", "--model", model, stdin=unknown_format)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "format tag" in bad.stderr
    rate = run_cli("stream", "-", "--model", model, "--rate", "3", stdin=b"\x00" * 100)
    assert rate.returncode == 2 and "sample rate 3" in rate.stderr
    eight_khz = run_cli("stream", "-", "--model", model, "--rate", "8000", stdin=np.zeros(8000, dtype="<i2").tobytes())
    assert eight_khz.returncode == 0


def test_onnx_stream_step_and_export_of_a_streaming_model(tmp_path):
    """`asr export` of a streaming model writes the whole-file graph (causal normalization included) and the
    chunk step with its caches; with backend="onnx" both give the log-probs PyTorch gives."""
    model_dir = _random_streaming_dir(tmp_path)
    result = run_cli("export", "--model", model_dir)
    assert result.returncode == 0, result.stderr
    assert (model_dir / "model-stream.onnx").is_file() and "streaming encoder step" in result.stdout
    torch_model = asr.load_model(model_dir, device="cpu")
    onnx_model = asr.load_model(model_dir, device="cpu", backend="onnx")
    wave = torch.randn(16000 * 3 + 500) * 0.1
    whole, _ = onnx_model.encode([wave])
    reference, _ = torch_model.encode([wave])
    torch.testing.assert_close(whole, reference, atol=1e-4, rtol=0)
    streams = [m.stream(chunk_ms=320, left_ms=640) for m in (torch_model, onnx_model)]
    for start in range(0, wave.numel(), 3000):
        for stream in streams:
            stream.accept(wave[start : start + 3000].numpy())
    for stream in streams:
        stream.finish()
    assert streams[1].log_probs.shape == streams[0].log_probs.shape
    torch.testing.assert_close(streams[1].log_probs, streams[0].log_probs, atol=1e-4, rtol=0)


def test_soup_of_a_streaming_model_and_the_model_it_started_from(tmp_path):
    """`asr average --models STREAMING FULL`: the full-context start of a streaming fine-tune enters with the
    streaming model's normalization statistics; the result is the streaming network, weights averaged."""
    from asr.checkpoint import average_model_dirs, load_model_dir

    torch.manual_seed(1)
    cfg = tiny_model_config(strides=[2, 2, 2], vocab_size=29)
    full = CTCModel(cfg)
    tuned = to_streaming(full)
    with torch.no_grad():
        for p in tuned.parameters():
            p.add_(0.1)
        tuned.frontend.prior_mean.fill_(-5.0)
    tokenizer = CharTokenizer(list(" ABCDEFGHIJKLMNOPQRSTUVWXYZ'"))
    full_dir = save_model_dir(tmp_path / "full", cfg, full.state_dict(), tokenizer)
    tuned_dir = save_model_dir(tmp_path / "tuned", tuned.cfg, tuned.state_dict(), tokenizer)
    soup_cfg, state, _ = average_model_dirs([tuned_dir, full_dir])
    assert soup_cfg.streaming
    key = "encoder.blocks.0.ff1.net.1.weight"
    torch.testing.assert_close(state[key], (full.state_dict()[key] + tuned.state_dict()[key]) / 2)
    assert torch.equal(state["frontend.prior_mean"], torch.full((80,), -5.0))
    with pytest.raises(ModelError, match="differs"):
        average_model_dirs([full_dir, tuned_dir])  # the streaming one must come first: its network is the result's
    assert load_model_dir(tuned_dir)[0].cfg.streaming


def test_a_streaming_model_adapted_in_its_chunks_still_streams(streaming_exp, tmp_path):
    """Speaker adaptation of a streaming model under the chunk mask it streams with (asr adapt --chunk-ms):
    the mask reaches the adaptation, and the saved model streams what it reads chunk-masked offline."""
    from asr.adapt import SpeakerAdaptation

    model = asr.load_model(streaming_exp / "model", device="cpu")
    files = [u.audio for u in read_manifest(TINY / "train.jsonl")]
    settings = SpeakerAdaptation(steps=5, lr=3e-3, batch_size=4)
    with pytest.warns(UserWarning, match="minutes of the speaker's audio"):
        whole = model.adapted_to(files, settings=settings)
    model.chunk = chunk_frames(model.model, 320, 3600)
    with pytest.warns(UserWarning, match="minutes of the speaker's audio"):
        chunked = model.adapted_to(files, settings=settings)
    moved = [k for k, v in chunked.model.state_dict().items() if not torch.equal(v, whole.model.state_dict()[k])]
    assert moved, "adapting in chunks gave the weights of adapting whole files"
    speaker = asr.load_model(chunked.save(tmp_path / "speaker"), device="cpu")
    assert speaker.model.cfg.streaming
    speaker.chunk = model.chunk
    for path in files[:3]:
        stream = speaker.stream(chunk_ms=320)
        stream.accept(asr.audio.load_audio(path).numpy())
        assert stream.finish().text == speaker.transcribe(path).text


def test_an_lm_stream_commits_its_words_at_a_pause(streaming_exp, tmp_path):
    """With ``commit_pause``, the search ends where the greedy path has been silent that long: every word said
    before the pause is final before the next utterance begins (without it, the beam still holds other
    readings of the last one there), and the search that follows reads the rest."""
    _tiny_lm(tmp_path)
    model = asr.load_model(streaming_exp / "model", device="cpu")
    wave, texts = _two_utterances()
    second_starts = len(wave) - 24000 - len(asr.audio.load_audio(read_manifest(TINY / "train.jsonl")[1].audio))
    stream, before, after = model.stream(chunk_ms=320, lm=tmp_path), [], []  # by default, at 0.2 s pauses
    for start in range(0, len(wave), 1600):
        words = stream.accept(wave[start : start + 1600]).words
        (before if start + 1600 <= second_starts else after).extend(words)
        assert all(w.end <= (start + 1600) / 16000 for w in words)  # said before it was returned
    assert [w.word for w in before] == texts[0].split()
    assert after and all(w.start >= second_starts / 16000 - 0.2 for w in after)  # times from the new search
    assert stream.finish().text == " ".join(texts)
    for bad in ({"commit_pause": 0.5}, {"lm": tmp_path, "commit_pause": -1}):
        with pytest.raises(ASRError, match="commit_pause needs lm= and a number of seconds >= 0"):
            model.stream(chunk_ms=320, **bad)
    stream, before = model.stream(chunk_ms=320, lm=tmp_path, commit_pause=0), []  # 0: the beam decides alone
    for start in range(0, second_starts, 1600):
        before += stream.accept(wave[start : start + 1600]).words
    assert [w.word for w in before] != texts[0].split()
