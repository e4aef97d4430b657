"""asr.dropout.Dropout: nn.Dropout's behaviour, its mask drawn from the dropped elements on the CPU."""

import pytest
import torch

from asr.dropout import SPARSE_MAX_P, Dropout


@pytest.mark.parametrize("p", [0.05, 0.1, SPARSE_MAX_P, 0.5])
def test_each_element_is_dropped_independently_with_probability_p(p):
    torch.manual_seed(0)
    drop = Dropout(p).train()
    out = drop(torch.ones(2000, 500))
    dropped = out == 0
    n = dropped.numel()
    assert abs(dropped.float().mean().item() - p) < 4 * (p * (1 - p) / n) ** 0.5
    assert torch.allclose(out[~dropped], torch.full_like(out[~dropped], 1 / (1 - p)))  # the kept ones, rescaled
    per_row = dropped.sum(dim=1).double()  # Bernoulli draws: binomial counts per row, variance 500 p (1 - p)
    assert 0.85 < per_row.var().item() / (500 * p * (1 - p)) < 1.15
    columns = dropped.float().mean(dim=0)  # no position is favoured
    assert (columns - p).abs().max() < 6 * (p * (1 - p) / 2000) ** 0.5


def test_the_gradient_flows_through_the_kept_elements_only():
    torch.manual_seed(1)
    x = torch.randn(64, 300, requires_grad=True)
    out = Dropout(0.1).train()(x)
    out.backward(torch.ones_like(out))
    assert torch.equal(x.grad, (out != 0).float() / 0.9)


def test_eval_mode_p_zero_and_empty_input_are_the_identity_and_seeds_fix_the_mask():
    x = torch.randn(10, 10)
    assert Dropout(0.1).eval()(x) is x and Dropout(0.0).train()(x) is x
    assert Dropout(0.1).train()(torch.zeros(0, 4)).shape == (0, 4)
    masks = []
    for _ in range(2):
        torch.manual_seed(7)
        masks.append(Dropout(0.1).train()(torch.ones(100, 100)) == 0)
    assert torch.equal(masks[0], masks[1])
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout(1.5)


def test_attention_written_out_for_cpu_dropout_computes_what_scaled_dot_product_attention_does(monkeypatch):
    """Training on the CPU with dropout, MultiHeadSelfAttention computes attention itself (to drop weights with
    asr.dropout): with the dropping taken out, it equals the fused path, padding and chunk masks included."""
    import asr.encoder
    from asr.encoder import MultiHeadSelfAttention, chunk_mask

    torch.manual_seed(3)
    attn = MultiHeadSelfAttention(32, 4, dropout=0.1)
    x = torch.randn(3, 20, 32)
    keep = torch.arange(20)[None, :] < torch.tensor([20, 13, 6])[:, None]
    allowed = keep[:, None, None, :] & chunk_mask(20, 4, 1)[None, None]
    allowed = allowed | ~keep[:, None, :, None]
    for mask in (None, keep[:, None, None, :], allowed):
        attn.eval()
        expected, _ = attn(x, mask)
        attn.train()
        monkeypatch.setattr(asr.encoder, "dropout", lambda weights, p: weights)
        written_out, _ = attn(x, mask)
        monkeypatch.undo()
        assert torch.allclose(written_out, expected, atol=1e-5)
        dropped, _ = attn(x, mask)  # and with asr.dropout, the weights are dropped
        assert not torch.allclose(dropped, expected, atol=1e-3)
