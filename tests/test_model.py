import pytest
import torch

from asr.audio import load_audio
from asr.model import CTCModel, Regularization, ctc_loss, min_ctc_frames
from conftest import TINY, tiny_model_config


@pytest.mark.parametrize("encoder", ["conformer", "transformer"])
@pytest.mark.parametrize("strides", [[2, 2], [2, 2, 2]])
def test_padded_batch_equals_one_at_a_time(encoder, strides):
    torch.manual_seed(0)
    model = CTCModel(tiny_model_config(encoder=encoder, strides=strides, vocab_size=29)).eval()
    waves = [load_audio(TINY / f"tiny-0{i}.flac") for i in (3, 7, 0)]  # different lengths, real speech
    lengths = torch.tensor([w.numel() for w in waves])
    batch = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    with torch.no_grad():
        out, out_lengths = model(batch, lengths)
        for i, wave in enumerate(waves):
            alone, n = model(wave[None], lengths[i : i + 1])
            assert out_lengths[i] == n[0] == alone.shape[1]
            torch.testing.assert_close(out[i, : n[0]], alone[0], atol=1e-4, rtol=1e-4)


def test_output_lengths_match_forward_and_frame_duration():
    model = CTCModel(tiny_model_config(strides=[2, 2, 2], vocab_size=29)).eval()
    assert model.frame_seconds == pytest.approx(0.08)  # 10 ms hop x 8
    for n in (1, 159, 160, 161, 4000, 16000):
        with torch.no_grad():
            out, lengths = model(torch.randn(1, n), torch.tensor([n]))
        assert out.shape[1] == lengths.item() == model.output_lengths(torch.tensor([n])).item()
        assert torch.allclose(out.exp().sum(-1), torch.ones(1, out.shape[1]), atol=1e-4)


def test_min_ctc_frames_counts_repeats():
    targets = torch.tensor([[1, 1, 2, 2, 2, 0], [3, 4, 3, 0, 0, 0]])
    assert min_ctc_frames(targets, torch.tensor([5, 3])).tolist() == [8, 3]


def test_ctc_loss_drops_infeasible_utterances():
    torch.manual_seed(0)
    log_probs = torch.randn(2, 4, 5).log_softmax(-1)
    targets = torch.tensor([[1, 2, 0, 0, 0, 0], [1, 2, 3, 4, 1, 2]])  # second needs 6 frames, has 4
    loss, infeasible = ctc_loss(log_probs, torch.tensor([4, 4]), targets, torch.tensor([2, 6]))
    alone, none = ctc_loss(log_probs[:1], torch.tensor([4]), targets[:1, :2], torch.tensor([2]))
    assert infeasible == 1 and none == 0
    assert torch.isfinite(loss) and loss.item() > 0
    torch.testing.assert_close(loss, alone)


def test_specaugment_only_in_training():
    torch.manual_seed(0)
    model = CTCModel(tiny_model_config(vocab_size=29), Regularization(freq_masks=2, time_masks=2))
    feats = torch.randn(2, 100, 80)
    lengths = torch.tensor([100, 60])
    masked, _ = model.specaugment.train()(feats, lengths)
    assert (masked == 0).any() and not torch.equal(masked, feats)
    same, _ = model.specaugment.eval()(feats, lengths)
    assert torch.equal(same, feats)


def test_vtlp_moves_formants_and_only_in_training():
    """VTLP: factor 1 is the plain filterbank; factor 1.1 moves a 1 kHz tone's energy to the mel bin of 1.1 kHz
    while 0 Hz and Nyquist stay put; the model warps only in training mode."""
    from asr.features import LogMel, vtlp_filterbank

    front = LogMel()
    fb = front.mel.mel_scale.fb
    warped = vtlp_filterbank(fb, torch.tensor([1.0, 1.1, 0.9]))
    torch.testing.assert_close(warped[0], fb)
    torch.testing.assert_close(warped[:, [0, -1]], fb[None, [0, -1]].expand(3, -1, -1))
    t = torch.arange(16000) / 16000
    tone = torch.sin(2 * torch.pi * 1000 * t)[None].repeat(3, 1)
    lengths = torch.tensor([16000] * 3)
    feats, _ = front(tone, lengths, torch.tensor([1.0, 1.1, 0.9]))
    spectrum = torch.stft(tone[:1], 512, 160, 400, front.mel.spectrogram.window, return_complex=True).abs().square()

    def peak(warp: float) -> int:
        return int((spectrum.transpose(1, 2) @ vtlp_filterbank(fb, torch.tensor([warp]))[0]).mean(1).argmax())

    def filter_at(hz: float) -> int:  # the filter most sensitive at hz
        return int(fb[round(hz / 8000 * (fb.shape[0] - 1))].argmax())

    assert peak(1.0) == filter_at(1000)
    assert peak(1.1) == filter_at(1100) > filter_at(1000) > filter_at(900) == peak(0.9)
    assert not torch.allclose(feats[0], feats[1]) and not torch.allclose(feats[0], feats[2])
    model = CTCModel(tiny_model_config(vocab_size=29), Regularization(dropout=0.0, vtlp=0.2)).eval()
    plain = CTCModel(tiny_model_config(vocab_size=29)).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(model(tone, lengths)[0], plain(tone, lengths)[0])
        torch.manual_seed(0)
        trained = model.train()(tone, lengths)[0]
    assert not torch.allclose(trained[0], trained[1])  # three equal inputs, three different warps


@pytest.mark.parametrize("hop", [160, 128])
def test_logmel_equals_torchaudio_melspectrogram(hop):
    """The front end computes the power spectrum itself (re^2 + im^2, for speed); its features must stay
    those of torchaudio's MelSpectrogram with the same window and filterbank, which the models learned on,
    at the default hop and at a shorter one."""
    from asr.features import LOG_FLOOR, LogMel, normalize_per_utterance, num_frames

    front = LogMel(hop_length=hop)
    wave = torch.randn(3, 16000) * 0.1
    lengths = torch.tensor([16000, 12000, 4000])
    wave[1, 12000:] = 0
    wave[2, 4000:] = 0
    frames_expected = lengths // hop + 1
    reference = normalize_per_utterance(front.mel(wave).clamp_min(LOG_FLOOR).log().transpose(1, 2), frames_expected)
    feats, frames = front(wave, lengths)
    assert torch.equal(frames, num_frames(lengths, hop)) and torch.equal(frames, frames_expected)
    assert feats.shape[1] == 16000 // hop + 1
    torch.testing.assert_close(feats, reference, atol=1e-4, rtol=1e-4)


def test_hop_length_sets_the_frame_rate_and_is_checked():
    """model.hop_length: a shorter hop gives proportionally more encoder frames (the reported frame duration
    follows), the same weights load at either hop, a config without the field reads as 10 ms, and a hop
    outside 1..400 samples is a clear error naming the field."""
    from asr.errors import ConfigError
    from asr.model import ModelConfig

    plain = CTCModel(tiny_model_config(vocab_size=29)).eval()
    dense = CTCModel(tiny_model_config(vocab_size=29, hop_length=128)).eval()
    dense.load_state_dict(plain.state_dict())
    assert plain.frame_seconds == pytest.approx(0.04) and dense.frame_seconds == pytest.approx(0.032)
    wave, lengths = torch.randn(2, 32000) * 0.1, torch.tensor([32000, 20000])
    with torch.no_grad():
        (_, n_plain), (_, n_dense) = plain(wave, lengths), dense(wave, lengths)
    assert torch.equal(n_dense, dense.output_lengths(lengths)) and torch.equal(n_plain, plain.output_lengths(lengths))
    assert n_dense.tolist() == [63, 40] and n_plain.tolist() == [51, 32]
    assert ModelConfig.from_dict({}).hop_length == 160
    for bad in (0, 401, 12.5):
        with pytest.raises(ConfigError, match="hop_length"):
            ModelConfig.from_dict({"hop_length": bad}, source="x/config.json")


def test_conv_module_matches_its_conv1d_definition():
    """The pointwise convolutions run as matrix products (for speed) on the Conv1d weights; the module must
    compute what the Conv1d layers it holds compute, padding mask included."""
    from torch import nn

    from asr.encoder import _ConvModule

    torch.manual_seed(0)
    conv = _ConvModule(16, 5, dropout=0.0).eval()
    x = torch.randn(2, 9, 16)
    keep = torch.tensor([[True] * 9, [True] * 6 + [False] * 3])
    h = nn.functional.glu(conv.pointwise_in(conv.norm(x).transpose(1, 2)), dim=1) * keep[:, None, :]
    h = nn.functional.silu(conv.conv_norm(conv.depthwise(h).transpose(1, 2)))
    reference = conv.pointwise_out(h.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(conv(x, keep)[0], reference, atol=1e-5, rtol=1e-5)


def test_ctc_loss_of_a_batch_without_labels():
    """A batch of non-speech clips only (empty transcripts): the loss is that of all-blank paths, not an error."""
    from asr.model import ctc_loss

    log_probs = torch.randn(3, 7, 5).log_softmax(dim=-1)
    loss, infeasible = ctc_loss(
        log_probs, torch.tensor([7, 5, 6]), torch.zeros(3, 0, dtype=torch.long), torch.zeros(3, dtype=torch.long)
    )
    assert infeasible == 0
    blank_paths = -sum(log_probs[b, :n, 0].sum() for b, n in enumerate([7, 5, 6]))  # no labels: blank throughout
    torch.testing.assert_close(loss, blank_paths)  # summed over the batch, over max(tokens, 1) = 1
