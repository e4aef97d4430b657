import json
import os
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

import asr
from asr.audio import load_audio
from asr.errors import AudioError, ModelError
from conftest import TINY

TEXTS = [json.loads(line)["text"] for line in (TINY / "train.jsonl").read_text().splitlines()]


def test_transcribe_path_and_array(model_dir):
    model = asr.load_model(model_dir, device="cpu")
    transcript = model.transcribe(TINY / "tiny-05.flac")
    assert isinstance(transcript, asr.Transcript) and transcript.text == TEXTS[5]
    assert transcript.segments[0].text == TEXTS[5] and transcript.duration == pytest.approx(1.408, abs=1e-3)
    data, rate = sf.read(TINY / "tiny-06.flac", dtype="float32")
    upsampled = torchaudio.functional.resample(torch.from_numpy(data), rate, 22050)
    assert model.transcribe(upsampled.numpy(), sample_rate=22050).text == TEXTS[6]


def test_transcribe_batch_keeps_order_and_matches_single(model_dir):
    model = asr.load_model(model_dir, device="cpu")
    paths = [TINY / f"tiny-0{i}.flac" for i in (7, 3, 0, 5)]
    batch = model.transcribe_batch(paths, batch_size=3)
    assert [t.text for t in batch] == [TEXTS[i] for i in (7, 3, 0, 5)]
    assert [t.text for t in batch] == [model.transcribe(p).text for p in paths]
    with pytest.raises(AudioError, match="missing.wav: no such file"):
        model.transcribe_batch([paths[0], TINY / "missing.wav"])


def test_vtln_keeps_the_most_confident_warp_per_wave(model_dir):
    model = asr.load_model(model_dir, device="cpu")
    waves = [load_audio(TINY / f"tiny-0{i}.flac") for i in (1, 4, 6)]
    plain, frames = model.encode(waves)
    assert torch.equal(model.encode(waves, (1.0,))[0], plain)  # factor 1 is the unwarped filterbank
    factors = (1.0, 0.8, 1.25)
    chosen, chosen_frames = model.encode(waves, factors)
    assert torch.equal(chosen_frames, frames)
    lengths = torch.tensor([w.numel() for w in waves])
    batch = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    with torch.inference_mode():
        each = [model.model(batch, lengths, torch.full((3,), f))[0] for f in factors]
    assert not torch.allclose(each[1], each[0]) and not torch.allclose(each[2], each[0])
    for b, n in enumerate(frames.tolist()):
        confidence = [float(lp[b, :n].max(dim=-1).values.mean()) for lp in each]
        best = max(range(len(factors)), key=confidence.__getitem__)
        assert torch.allclose(chosen[b, :n], each[best][b, :n]), (b, confidence)
    assert [model.transcribe(TINY / f"tiny-0{i}.flac", vtln=True).text for i in (1, 4)] == [TEXTS[1], TEXTS[4]]
    with pytest.raises(ModelError, match="warp factors must be between 0.5 and 2.0"):
        model.transcribe(TINY / "tiny-01.flac", vtln=[1.0, 3.0])


def test_adapt_lowers_entropy_per_wave_and_leaves_the_weights_alone(model_dir):
    from asr.adapt import Adaptation, _entropy

    model = asr.load_model(model_dir, device="cpu")
    before = {k: v.clone() for k, v in model.model.state_dict().items()}
    flags = [p.requires_grad for p in model.model.parameters()]
    # a voice the tiny model never heard: its fixtures with the spectrum warped down
    waves = [torchaudio.functional.resample(load_audio(TINY / f"tiny-0{i}.flac"), 16000, 19000) for i in (2, 3)]
    settings = Adaptation(steps=5, lr=3e-3)
    plain, frames = model.encode(waves)
    adapted, adapted_frames = model.encode(waves, adapt=settings)
    assert torch.equal(adapted_frames, frames)
    for b, n in enumerate(frames.tolist()):
        assert float(_entropy(adapted[b], n, 2.5)) < 0.9 * float(_entropy(plain[b], n, 2.5)), b
    # each wave adapts alone: the second reads the same in a batch with the first (and a blip) as alone
    alone, _ = model.encode(waves[1:], adapt=settings)
    n = int(frames[1])
    assert torch.allclose(alone[0, :n], adapted[1, :n], atol=1e-3)
    with_blip, _ = model.encode([waves[1], torch.zeros(40)], adapt=settings)
    assert torch.allclose(with_blip[0, :n], adapted[1, :n], atol=1e-3) and torch.isfinite(with_blip).all()
    assert all(torch.equal(before[k], v) for k, v in model.model.state_dict().items())
    assert [p.requires_grad for p in model.model.parameters()] == flags
    assert all(p.grad is None for p in model.model.parameters())
    assert model.transcribe(TINY / "tiny-04.flac", adapt=True).text == TEXTS[4]  # what it knew, it still knows
    with pytest.raises(ModelError, match="adapt and vtln"):
        model.transcribe(TINY / "tiny-01.flac", adapt=3, vtln=True)
    with pytest.raises(ModelError, match="steps must be a whole number of at least 1"):
        model.transcribe(TINY / "tiny-01.flac", adapt=-2)
    quantized = asr.load_model(model_dir, device="cpu", quantize=True)
    with pytest.raises(ModelError, match="adapt needs the PyTorch backend's float network"):
        quantized.transcribe(TINY / "tiny-01.flac", adapt=True)


def test_model_directory_loads_without_unpickling(model_dir, monkeypatch):
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((model_dir / "config.json").read_text())
    assert config["format_version"] == 1 and config["model"]["strides"] == [2, 2]
    assert config["tokenizer"]["type"] == "char"

    def no_pickle(*args, **kwargs):
        raise AssertionError("a model directory must load without torch.load / pickle")

    monkeypatch.setattr(torch, "load", no_pickle)
    assert asr.load_model(model_dir, device="cpu").transcribe(TINY / "tiny-00.flac").text == TEXTS[0]


def test_broken_model_directories(model_dir, tmp_path):
    with pytest.raises(ModelError, match="not a model directory"):
        asr.load_model(tmp_path)
    (model_dir / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="model.safetensors is missing"):
        asr.load_model(model_dir)


def test_default_model_and_available_models(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ASR_PRETRAINED_DIR", str(tmp_path / "none"))
    assert asr.available_models() == []
    with pytest.raises(ModelError, match="no pretrained model is installed"):
        asr.load_model()
    monkeypatch.setenv("ASR_PRETRAINED_DIR", str(model_dir.parent))
    assert asr.available_models() == ["model"]
    assert asr.load_model(device="cpu").transcribe(TINY / "tiny-01.flac").text == TEXTS[1]
    assert asr.load_model("model", device="cpu").path == model_dir
    with pytest.raises(ModelError, match="no bundled streaming model"):
        asr.load_model(streaming=True)
    (model_dir.parent / "DEFAULT-STREAMING").write_text("gone\n")
    with pytest.raises(ModelError, match="DEFAULT-STREAMING: names 'gone', which is not installed"):
        asr.load_model(streaming=True)
    (model_dir.parent / "DEFAULT-STREAMING").write_text("model\n")
    assert asr.load_model(device="cpu", streaming=True).path == model_dir


def test_speaker_adaptation_learns_a_voice_and_saves_a_model_directory(model_dir, tmp_path):
    from asr.adapt import NoAudioToAdapt, SpeakerAdaptation, _entropy, adaptable_parameters

    model = asr.load_model(model_dir, device="cpu")
    before = {k: v.clone() for k, v in model.model.state_dict().items()}
    voice = []  # a voice the tiny model never heard: its fixtures with the spectrum warped down
    for i in range(8):
        voice.append(tmp_path / f"warped-{i}.wav")
        sf.write(voice[i], torchaudio.functional.resample(load_audio(TINY / f"tiny-0{i}.flac"), 16000, 19000), 16000)
    settings = SpeakerAdaptation(steps=20, lr=3e-3, batch_size=2)
    errors = []
    with pytest.warns(UserWarning, match="0.1 minutes of the speaker's audio; adaptation gains little below"):
        speaker = model.adapted_to([*voice[:4], tmp_path / "missing.wav"], settings=settings, on_error=errors.append)
    assert len(errors) == 1 and "missing.wav" in str(errors[0])
    # what it learned from four utterances of the voice carries to the voice's other four
    held = [load_audio(p) for p in voice[4:]]
    plain, frames = model.encode(held)
    adapted, _ = speaker.encode(held)
    for b, n in enumerate(frames.tolist()):
        assert float(_entropy(adapted[b], n, 2.5)) < 0.8 * float(_entropy(plain[b], n, 2.5)), b
    # only the LayerNorms and subsampling moved, in the copy; the model it came from is untouched
    assert all(torch.equal(before[k], v) for k, v in model.model.state_dict().items())
    moved = {k for k, v in speaker.model.state_dict().items() if not torch.equal(before[k], v)}
    assert moved and moved <= set(adaptable_parameters(model.model))
    record = speaker.config["info"]["speaker_adaptation"]
    assert record["segments"] == 4 and record["steps"] == 20
    assert record["seconds"] == pytest.approx(sum(sf.info(p).duration for p in voice[:4]), abs=0.01)
    with pytest.warns(UserWarning):
        again = model.adapted_to(voice[:4], settings=settings)  # the seed fixes the order: the same weights
    assert all(torch.equal(v, again.model.state_dict()[k]) for k, v in speaker.model.state_dict().items())
    # saved, it is a model directory like any other, with the LM of the one it came from
    (model_dir / "lm").mkdir()
    (model_dir / "lm" / "lm.json").write_text('{"file": "lm.arpa"}')
    umask = os.umask(0o022)
    try:
        saved = speaker.save(tmp_path / "speaker")
    finally:
        os.umask(umask)
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "lm", "model.safetensors"]
    assert {p.name: p.stat().st_mode & 0o777 for p in saved.iterdir() if p.is_file()} == {
        "config.json": 0o644,
        "model.safetensors": 0o644,  # readable by others, as the files a user makes (safetensors makes 0600)
    }
    assert (saved / "lm" / "lm.json").read_text() == '{"file": "lm.arpa"}'
    loaded = asr.load_model(saved, device="cpu")
    assert all(torch.equal(v, loaded.model.state_dict()[k]) for k, v in speaker.model.state_dict().items())
    assert loaded.config["info"]["speaker_adaptation"] == record
    with pytest.raises(ModelError, match="the directory this model was loaded from"):
        loaded.save(saved)
    with pytest.raises(ModelError, match="no audio to adapt to"):
        model.adapted_to([tmp_path / "missing.wav"], on_error=errors.append)
    with warnings.catch_warnings():  # 20 s of silence: no segment, so no warning about how little audio
        warnings.simplefilter("error")
        with pytest.raises(NoAudioToAdapt):
            model.adapted_to([np.zeros(20 * 16000, dtype=np.float32)], sample_rate=16000)
    with pytest.raises(ModelError, match="batch_size must be a whole number"):
        SpeakerAdaptation(batch_size=0)
    # by default, 8 passes over the segments in batches of 16, at most 100 steps
    assert [SpeakerAdaptation().steps_for(n) for n in (1, 28, 192, 5000)] == [1, 14, 96, 100]
    assert SpeakerAdaptation(steps=7).steps_for(5000) == 7


def test_speaker_adaptation_holds_only_what_its_steps_can_draw(model_dir, monkeypatch):
    import asr.transcribe
    from asr.adapt import SpeakerAdaptation

    model = asr.load_model(model_dir, device="cpu")
    clips = [np.full(8000, (i + 1) / 64, dtype=np.float32) for i in range(20)]  # 20 one-segment inputs, exact
    held = []

    def adapt(net, waves, settings, chunk, progress):
        held.append(([float(w[0]) for w in waves], settings.steps))
        return {}

    monkeypatch.setattr(asr.transcribe, "adapt_to_speaker", adapt)
    settings = SpeakerAdaptation(passes=0.5, max_steps=3, batch_size=2)  # 3 steps of 2: 6 segments at most
    assert settings.pool_size == 6
    with pytest.warns(UserWarning):
        record = model.adapted_to(clips, sample_rate=16000, settings=settings).config["info"]["speaker_adaptation"]
        model.adapted_to(clips, sample_rate=16000, settings=settings)
        model.adapted_to(clips[:5], sample_rate=16000, settings=settings)
    assert record["segments"] == 20 and record["segments_used"] == 6 and record["steps"] == 3
    (sample, steps), (again, _), (few, few_steps) = held
    assert steps == 3 and sample == again  # the steps of all 20 segments; the seed fixes the sample
    assert len(set(sample)) == 6 and sample != [(i + 1) / 64 for i in range(6)]  # not just the first six
    assert set(sample) <= {(i + 1) / 64 for i in range(20)}
    assert few == [(i + 1) / 64 for i in range(5)] and few_steps == 2  # fewer: all of them, in order


def test_a_device_this_machine_lacks_is_a_model_error(model_dir):
    with pytest.raises(ModelError, match="device 'tpu': not a device name"):
        asr.load_model(model_dir, device="tpu")
    missing = f"cuda:{torch.cuda.device_count()}"  # one past the last GPU: none on a CPU machine
    with pytest.raises(ModelError, match=f"device '{missing}' is not usable here"):
        asr.load_model(model_dir, device=missing)
    assert asr.load_model(model_dir, device="cpu").device == torch.device("cpu")
