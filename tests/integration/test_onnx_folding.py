"""The folded pooling computes what SpeechBrain's attentive statistics pooling computes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_the_folded_pooling_equals_the_original_on_random_weights_and_inputs() -> None:
    import torch
    from speechbrain.lobes.models.ECAPA_TDNN import AttentiveStatisticsPooling

    from voiceauth_adapters.onnx.folding import FoldedPooling

    torch.manual_seed(0)
    pooling = AttentiveStatisticsPooling(channels=48, attention_channels=16)
    with torch.no_grad():  # batch norm statistics that are not the identity
        pooling.tdnn.norm.norm.running_mean.uniform_(-0.5, 0.5)
        pooling.tdnn.norm.norm.running_var.uniform_(0.5, 2.0)
    pooling.eval()
    folded = FoldedPooling(pooling).eval()
    with torch.inference_mode():
        for frames in (1, 7, 300):
            x = torch.randn(3, 48, frames)
            expected = pooling(x)
            assert folded(x).shape == expected.shape == (3, 96, 1)
            torch.testing.assert_close(folded(x), expected, rtol=1e-5, atol=1e-5)
        with pytest.raises(ValueError, match="whole recordings"):
            folded(torch.randn(1, 48, 10), lengths=torch.ones(1))


def test_only_the_global_context_pooling_is_folded() -> None:
    from speechbrain.lobes.models.ECAPA_TDNN import AttentiveStatisticsPooling

    from voiceauth_adapters.onnx.folding import FoldedPooling

    with pytest.raises(ValueError, match="global-context"):
        FoldedPooling(AttentiveStatisticsPooling(channels=8, global_context=False))
