"""Elastic building blocks: one set of weights, sliced per architecture.

* width / expansion: an active layer uses leading channels (``Channels = int``) or, for locally free
  channels (CafeNet), an explicit index set (``Channels = LongTensor``);
* kernel: the k-wide kernel is the centre crop of the largest kernel passed through a learned
  (k^d x k^d) kernel transform matrix (identity at start), applied largest-to-smallest as in Once-for-All;
* BatchNorm normalises only the active channels and updates only their running statistics.

Everything here is plain ``torch.nn.functional`` over sliced parameters, so gradients flow only into
the active slices and an extracted network can copy exactly the tensors the forward pass used.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

Channels = int | torch.Tensor  # a prefix length, or a sorted LongTensor of channel indices


def take(tensor: torch.Tensor, dim: int, channels: Channels) -> torch.Tensor:
    """The active channels of ``tensor`` along ``dim`` (a view for prefixes, a gather otherwise).

    All channels return ``tensor`` itself: no view, so autograd has no slice to scatter back.
    """
    if isinstance(channels, int):
        return tensor if channels == tensor.shape[dim] else tensor.narrow(dim, 0, channels)
    return tensor.index_select(dim, channels)


def count(channels: Channels) -> int:
    return channels if isinstance(channels, int) else int(channels.numel())


def conv_fn(ndim: int):
    return F.conv1d if ndim == 1 else F.conv2d


def new_weight(cout: int, cin: int, kernel: int, ndim: int) -> nn.Parameter:
    """Conv weight initialised like ``nn.ConvNd`` (Kaiming-uniform, a=sqrt(5)) at its largest shape."""
    weight = torch.empty(cout, cin, *([kernel] * ndim))
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    return nn.Parameter(weight)


class ElasticBN(nn.BatchNorm1d):
    """BatchNorm over the active channels; running statistics of inactive channels stay untouched.

    Works for 1-D and 2-D feature maps (``F.batch_norm`` is rank-agnostic). With ``momentum=None``
    it keeps a cumulative average, which BN recalibration relies on.
    """

    def forward(self, x: torch.Tensor, channels: Channels | None = None) -> torch.Tensor:  # type: ignore[override]
        channels = self.num_features if channels is None else channels
        factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        use_batch = self.training or not self.track_running_stats
        weight, bias = take(self.weight, 0, channels), take(self.bias, 0, channels)
        if isinstance(channels, int):  # views: F.batch_norm updates the leading running stats in place
            return F.batch_norm(x, take(self.running_mean, 0, channels), take(self.running_var, 0, channels),
                                weight, bias, use_batch, factor, self.eps)
        mean, var = self.running_mean[channels], self.running_var[channels]  # copies: write them back
        out = F.batch_norm(x, mean, var, weight, bias, use_batch, factor, self.eps)
        if use_batch:
            self.running_mean[channels] = mean
            self.running_var[channels] = var
        return out

    def export_to(self, bn: nn.modules.batchnorm._BatchNorm, channels: Channels) -> None:
        """Copy the active slice into a physical ``nn.BatchNormNd`` of ``count(channels)`` features."""
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, name).copy_(take(getattr(self, name), 0, channels))
            bn.num_batches_tracked.copy_(self.num_batches_tracked)
        bn.eps, bn.momentum = self.eps, self.momentum


class ElasticBlock(nn.Module):
    """Inverted residual (1x1 expand → k×k depthwise → 1x1 project) at its largest size.

    ``forward(x, cin, cout, kernel, expand, stride)``: ``x`` holds ``count(cin)`` channels; the hidden
    width is ``count(cin) * expand`` leading channels; ``expand == 1`` skips the expansion conv as
    ``ChainSpace`` does.
    """

    def __init__(self, ndim: int, cin_max: int, cout_max: int, kernels: tuple[int, ...],
                 expansions: tuple[int, ...]) -> None:
        super().__init__()
        self.ndim, self.kmax = ndim, max(kernels)
        self.kernels = tuple(sorted(set(kernels), reverse=True))
        hidden = cin_max * max(expansions)
        self.expand_w = new_weight(hidden, cin_max, 1, ndim)
        self.expand_bn = ElasticBN(hidden)
        self.dw_w = new_weight(hidden, 1, self.kmax, ndim)
        self.dw_bn = ElasticBN(hidden)
        self.project_w = new_weight(cout_max, hidden, 1, ndim)
        self.project_bn = ElasticBN(cout_max)
        self.transforms = nn.ParameterDict(
            {str(k): nn.Parameter(torch.eye(k**ndim)) for k in self.kernels if k != self.kmax})
        if ndim == 2:  # flat positions of each k x k centre crop inside the next larger kernel (not saved)
            for larger, k in zip(self.kernels, self.kernels[1:]):
                start = (larger - k) // 2
                rows = torch.arange(start, start + k)
                index = (rows[:, None] * larger + rows[None, :]).flatten()
                self.register_buffer(f"crop_index_{k}", index, persistent=False)

    def dw_weight(self, hidden: int, kernel: int) -> torch.Tensor:
        """Depthwise weight of the ``kernel``-wide conv: successive centre crops + kernel transforms.

        Works on the flattened (hidden, k^d) kernel: a 1-D centre crop is a column slice that the matmul
        reads in place, a 2-D one a gather of precomputed positions (``crop_index``); either way one op
        instead of crop + copying reshape, and ``F.linear`` instead of ``@ .t()``. No transform runs when
        ``kernel`` is the largest.
        """
        if kernel == self.kmax:
            return take(self.dw_w, 0, hidden)
        weight, size = take(self.dw_w, 0, hidden).flatten(1), self.kmax
        for k in self.kernels:
            if k < kernel:
                break
            if k == size:
                continue
            if self.ndim == 1:
                start = (size - k) // 2
                crop = weight[:, start:start + k]
            else:
                crop = weight.index_select(1, getattr(self, f"crop_index_{k}"))
            weight, size = F.linear(crop, self.transforms[str(k)]), k
        return weight.view(hidden, 1, *([kernel] * self.ndim))

    def weights(self, cin: Channels, cout: Channels, kernel: int, expand: int) -> dict[str, torch.Tensor]:
        """The physical tensors of the active block (shared by ``forward`` and extraction)."""
        hidden = count(cin) * expand
        return {
            "expand": take(take(self.expand_w, 0, hidden), 1, cin) if expand != 1 else None,
            "dw": self.dw_weight(hidden, kernel),
            "project": take(take(self.project_w, 1, hidden), 0, cout),
        }

    def forward(self, x: torch.Tensor, cin: Channels, cout: Channels, kernel: int, expand: int,
                stride: int) -> torch.Tensor:
        conv, hidden = conv_fn(self.ndim), count(cin) * expand
        w = self.weights(cin, cout, kernel, expand)
        out = x
        if w["expand"] is not None:
            out = F.relu6(self.expand_bn(conv(out, w["expand"]), hidden), inplace=True)
        out = F.relu6(self.dw_bn(conv(out, w["dw"], stride=stride, padding=kernel // 2, groups=hidden), hidden),
                      inplace=True)  # in place, as the stand-alone ``conv_bn``: batch norm's backward needs its input only
        out = self.project_bn(conv(out, w["project"]), cout)
        return x + out if stride == 1 and count(cin) == count(cout) else out

    def export_to(self, block: nn.Module, cin: Channels, cout: Channels, kernel: int, expand: int) -> None:
        """Copy the active weights into a ``chain.InvertedResidual`` built for the same choices."""
        hidden = count(cin) * expand
        w = self.weights(cin, cout, kernel, expand)
        layers = list(block.body)
        pairs = ([("expand", self.expand_bn, hidden)] if expand != 1 else []) + [
            ("dw", self.dw_bn, hidden), ("project", self.project_bn, cout)]
        with torch.no_grad():
            for layer, (name, bn, channels) in zip(layers, pairs):
                layer[0].weight.copy_(w[name])
                bn.export_to(layer[1], channels)
