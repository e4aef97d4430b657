import pytest
import torch

from asr.subsampling import StridedConvSubsampling, conv_output_length


@pytest.mark.parametrize("strides", [[2, 2], [2, 2, 2]])
@pytest.mark.parametrize("separable", [False, True])
@pytest.mark.parametrize("kernel", [3, 5])
def test_output_lengths_match_real_output_sizes(strides, separable, kernel):
    torch.manual_seed(0)
    sub = StridedConvSubsampling(16, 8, strides, kernel_size=kernel, channels=8, separable=separable).eval()
    for length in range(1, 301):
        x = torch.randn(1, length, 16)
        y, out_len = sub(x, torch.tensor([length]))
        assert y.shape[1] == out_len.item() == sub.output_lengths(torch.tensor([length])).item(), length


def test_factor_and_formula():
    sub = StridedConvSubsampling(80, 16, [2, 2, 2])
    assert sub.factor == 8
    # floor((L + 2p - k) / s) + 1 per layer; odd kernels with p = k // 2 give ceil(L / s)
    assert sub.output_lengths(torch.tensor([100, 101, 8, 1, 0])).tolist() == [13, 13, 1, 1, 0]
    assert conv_output_length(torch.tensor([2]), kernel=5, stride=1, padding=0).item() == 0  # clamped


@pytest.mark.parametrize("separable", [False, True])
def test_padding_never_leaks_into_real_frames(separable):
    torch.manual_seed(0)
    sub = StridedConvSubsampling(16, 8, [2, 2, 2], kernel_size=5, channels=8, separable=separable).eval()
    lengths = [37, 120, 64]
    xs = [torch.randn(1, n, 16) for n in lengths]
    batch = torch.zeros(3, max(lengths), 16)
    for i, x in enumerate(xs):
        batch[i, : lengths[i]] = x[0]
    batch[0, lengths[0] :] = 1e3  # garbage in the padding must not matter
    yb, out = sub(batch, torch.tensor(lengths))
    for i, x in enumerate(xs):
        y, n = sub(x, torch.tensor([lengths[i]]))
        assert out[i] == n[0]
        torch.testing.assert_close(yb[i, : n[0]], y[0], atol=1e-5, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError):
        StridedConvSubsampling(80, 16, [])
    with pytest.raises(ValueError):
        StridedConvSubsampling(80, 16, [2], kernel_size=4)
