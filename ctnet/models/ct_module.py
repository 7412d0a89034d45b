"""The Channel Tensorization Module (CT-Module, section 3.1) and its Tensor Excitation (section 3.2, appendix A.2).

All modules here work on *folded* clips: a tensor ``(N*T, C, H, W)`` whose batch axis holds the ``T`` frames of
each clip next to each other, the layout of the surrounding 2D ResNet. Spatial convolutions then run as plain
grouped ``Conv2d`` on all frames at once; only the temporal convolutions unfold the clip (to ``(N, C, T, H*W)``,
or ``(N, C, T, H, W)`` for a joint 3D kernel).

Channel tensorization: the ``C`` channels are read as a tensor ``C_K x ... x C_2 x C_1`` with the current
sub-dimension always the fastest-varying (contiguous) one, so that "only the C_k channels of sub-dimension k
interact" is a grouped convolution with ``C / C_k`` groups of ``C_k`` neighbouring channels. After each
sub-dimension the channel axis is rotated by one factor (a channel shuffle); after K rotations the channels are
back in their input order. Parallel and serial modules keep a channels-last input channels-last.
"""
import math

import torch
from torch import nn

from ctnet.model_spec import CONNECTIONS, EXCITATIONS


def balanced_factors(channels, num_factors):
    """Split ``channels`` into ``num_factors`` factors as equal as possible, the larger first.

    For two factors this is the divisor nearest sqrt(C) and its co-factor (64 -> 8 x 8, 128 -> 16 x 8,
    512 -> 32 x 16), the split of the official code, which mixes the larger factor first (Table 2d, 2f).
    """
    if num_factors == 1:
        return [channels]
    target = channels ** (1.0 / num_factors)
    divisors = [d for d in range(1, channels + 1) if channels % d == 0]
    first = min(divisors, key=lambda d: (abs(d - target), d))
    return sorted([first] + balanced_factors(channels // first, num_factors - 1), reverse=True)


def resolve_sub_dims(sub_dims, channels, where):
    """Turn the spec's ``sub_dims`` (K, or a list of sizes with at most one ``"auto"``) into sizes for ``channels``."""
    if isinstance(sub_dims, int):
        return balanced_factors(channels, sub_dims)
    known = math.prod(size for size in sub_dims if size != "auto")
    if "auto" in sub_dims:
        if channels % known:
            raise ValueError(f"model.ct.sub_dims {sub_dims}: {where} has {channels} channels, not divisible by "
                             f"{known}; choose sizes that divide every replaced block's width")
        return [channels // known if size == "auto" else size for size in sub_dims]
    if known != channels:
        raise ValueError(f"model.ct.sub_dims {sub_dims} multiply to {known} but {where} has {channels} channels; "
                         "write 'auto' for one size (e.g. [auto, 2]) so it fits every stage")
    return list(sub_dims)


def _conv_bn_relu(conv, channels):
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


def unfold_clip(x, num_segments):
    """(N*T, C, H, W) -> (N, C, T, H, W), a view."""
    nt, c, h, w = x.shape
    return x.view(nt // num_segments, num_segments, c, h, w).transpose(1, 2)


def fold_clip(x):
    """(N, C, T, H, W) -> (N*T, C, H, W)."""
    n, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(n * t, c, h, w)


class TemporalConv(nn.Module):
    """A grouped ``t x 1 x 1`` convolution of folded clips, then BN and ReLU.

    It runs as a ``(t, 1)`` Conv2d on ``(N, C, T, H*W)``: on CPU that takes the oneDNN path, which a grouped
    Conv3d does not (PyTorch's slow reference kernel, about 3x slower here).
    """

    def __init__(self, channels, groups, kernel, num_segments, stride=1):
        super().__init__()
        self.num_segments = num_segments
        self.stride = stride
        self.conv = nn.Conv2d(channels, channels, (kernel, 1), padding=(kernel // 2, 0), groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        if self.stride > 1:  # a spatial stride on a 1x1 footprint is a subsampling
            x = x[:, :, ::self.stride, ::self.stride]
        nt, c, h, w = x.shape
        n = nt // self.num_segments
        # (N, C, T, H*W): a channels-last input gives a channels-last view here, which oneDNN convolves with no
        # reorder; a contiguous one is copied once by the convolution.
        x = x.reshape(n, self.num_segments, c, h * w).transpose(1, 2)
        x = self.conv(x).transpose(1, 2).reshape(nt, c, h, w)  # back to (N*T, C, H, W), in the input's format
        return self.relu(self.bn(x))


class JointConv(nn.Module):
    """A grouped ``t x s x s`` convolution (Conv3d) of folded clips, then BN and ReLU: C3D, CSN, joint CT."""

    def __init__(self, channels, groups, kernel, num_segments, stride=1):
        super().__init__()
        self.num_segments = num_segments
        padding = tuple(k // 2 for k in kernel)
        self.conv = nn.Conv3d(channels, channels, kernel, stride=(1, stride, stride), padding=padding,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.conv(unfold_clip(x, self.num_segments))  # (N, C, T, H', W')
        return self.relu(self.bn(fold_clip(x)))  # (N*T, C, H', W')


class SpatialExcitation(nn.Module):
    """Spatial TE: temporal pooling -> spatial TSConv -> BN -> ReLU -> spatial TSConv -> sigmoid, shared over T."""

    def __init__(self, channels, groups, kernel, num_segments, reduction=4):
        super().__init__()
        self.num_segments = num_segments
        hidden = groups * max(1, channels // groups // reduction)
        self.squeeze = _conv_bn_relu(nn.Conv2d(channels, hidden, kernel, padding=kernel // 2, groups=groups,
                                               bias=False), hidden)
        self.expand = nn.Conv2d(hidden, channels, kernel, padding=kernel // 2, groups=groups, bias=False)

    def forward(self, x):
        nt, c, h, w = x.shape
        clips = x.view(nt // self.num_segments, self.num_segments, c, h, w)
        attention = torch.sigmoid(self.expand(self.squeeze(clips.mean(dim=1))))  # (N, C, H, W)
        return (clips * attention.unsqueeze(1)).view(nt, c, h, w)


class TemporalExcitation(nn.Module):
    """Temporal TE: spatial pooling -> temporal TSConv -> BN -> ReLU -> temporal TSConv -> sigmoid."""

    def __init__(self, channels, groups, kernel, num_segments, reduction=4):
        super().__init__()
        self.num_segments = num_segments
        hidden = groups * max(1, channels // groups // reduction)
        # (t, 1) Conv2d rather than Conv1d: the grouped Conv1d takes a slow reference kernel on CPU.
        self.squeeze = _conv_bn_relu(nn.Conv2d(channels, hidden, (kernel, 1), padding=(kernel // 2, 0),
                                               groups=groups, bias=False), hidden)
        self.expand = nn.Conv2d(hidden, channels, (kernel, 1), padding=(kernel // 2, 0), groups=groups, bias=False)

    def forward(self, x):
        nt, c = x.shape[:2]
        pooled = x.mean(dim=(2, 3)).view(nt // self.num_segments, self.num_segments, c, 1)
        attention = torch.sigmoid(self.expand(self.squeeze(pooled.transpose(1, 2))))  # (N, C, T, 1)
        return x * attention.transpose(1, 2).reshape(nt, c, 1, 1)


class ChannelExcitation(nn.Module):
    """Channel TE: per frame, spatial pooling -> point-wise TSConv -> BN -> ReLU -> point-wise TSConv -> sigmoid."""

    def __init__(self, channels, groups, reduction=4):
        super().__init__()
        hidden = groups * max(1, channels // groups // reduction)
        self.squeeze = _conv_bn_relu(nn.Conv2d(channels, hidden, 1, groups=groups, bias=False), hidden)
        self.expand = nn.Conv2d(hidden, channels, 1, groups=groups, bias=False)

    def forward(self, x):
        return x * torch.sigmoid(self.expand(self.squeeze(x.mean(dim=(2, 3), keepdim=True))))


class SqueezeExcitation(nn.Module):
    """Plain SE (Hu et al.) on each frame: the Table 2g alternative to TE; no BN, full (ungrouped) layers."""

    def __init__(self, channels, reduction=4):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, x):
        return x * torch.sigmoid(self.fc(x.mean(dim=(2, 3), keepdim=True)))


class TensorSeparableConv(nn.Module):
    """One sub-dimension of the CT-Module: the spatial and temporal TSConv over ``sub_dim`` channels, joined.

    connection ``parallel``: S(x) + T(x) (eq. 5); ``serial``: T(S(x)); ``joint``: one ``k x k x k`` kernel.
    excitation ``te``: spatial TE after S, temporal TE after T, channel TE after the join (section 3.2);
    ``se``: one plain SE after the join; None: none.
    """

    def __init__(self, channels, sub_dim, kernel, connection, excitation, num_segments, stride=1):
        super().__init__()
        groups = channels // sub_dim
        self.connection = connection
        self.spatial = self.temporal = self.joint = None
        if connection == "joint":
            self.joint = JointConv(channels, groups, (kernel, kernel, kernel), num_segments, stride)
        else:
            self.spatial = _conv_bn_relu(nn.Conv2d(channels, channels, kernel, stride=stride, padding=kernel // 2,
                                                   groups=groups, bias=False), channels)
            temporal_stride = stride if connection == "parallel" else 1
            self.temporal = TemporalConv(channels, groups, kernel, num_segments, temporal_stride)
        identity = nn.Identity()
        self.spatial_te = self.temporal_te = self.channel_te = identity
        if excitation == "te":
            self.spatial_te = SpatialExcitation(channels, groups, kernel, num_segments)
            self.temporal_te = TemporalExcitation(channels, groups, kernel, num_segments)
            self.channel_te = ChannelExcitation(channels, groups)
        elif excitation == "se":
            self.channel_te = SqueezeExcitation(channels)

    def forward(self, x):
        if self.connection == "parallel":
            x = self.spatial_te(self.spatial(x)) + self.temporal_te(self.temporal(x))
        elif self.connection == "serial":
            x = self.temporal_te(self.temporal(self.spatial_te(self.spatial(x))))
        else:
            x = self.temporal_te(self.spatial_te(self.joint(x)))
        return self.channel_te(x)


class CTModule(nn.Module):
    """The CT-Module: K tensor separable convolutions applied sub-dimension by sub-dimension (eq. 2).

    Replaces a bottleneck's 3x3 convolution (with its BN and ReLU): ``(N*T, C, H, W) -> (N*T, C, H/s, W/s)``.
    ``sub_dims`` are the sizes C_1..C_K (product C), ``kernels`` the kernel size of each; ``pointwise`` adds a
    full 1x1 convolution (BN, ReLU) between consecutive sub-dimensions, none after the last (Figure 2).
    """

    def __init__(self, channels, num_segments, sub_dims, kernels, connection="parallel", pointwise=True,
                 excitation="te", stride=1):
        super().__init__()
        if math.prod(sub_dims) != channels:
            raise ValueError(f"CT-Module sub_dims {sub_dims} do not multiply to its {channels} channels")
        if len(kernels) != len(sub_dims):
            raise ValueError(f"CT-Module needs one kernel per sub-dimension: {kernels} for {sub_dims}")
        if connection not in CONNECTIONS:
            raise ValueError(f"CT-Module connection {connection!r}: allowed {CONNECTIONS}")
        if excitation not in EXCITATIONS:
            raise ValueError(f"CT-Module excitation {excitation!r}: allowed {EXCITATIONS}")
        self.sub_dims = list(sub_dims)
        self.stages = nn.ModuleList(
            TensorSeparableConv(channels, size, kernel, connection, excitation, num_segments,
                                stride=stride if index == 0 else 1)
            for index, (size, kernel) in enumerate(zip(sub_dims, kernels)))
        self.pointwise = nn.ModuleList(
            _conv_bn_relu(nn.Conv2d(channels, channels, 1, bias=False), channels)
            for _ in range(len(sub_dims) - 1)) if pointwise else None

    def forward(self, x):
        for index, (size, stage) in enumerate(zip(self.sub_dims, self.stages)):
            x = stage(x)
            nt, c, h, w = x.shape
            if 1 < size < c:
                # (C/C_k, C_k) -> (C_k, C/C_k): the next sub-dimension becomes the contiguous one. One native
                # kernel that keeps the memory format (a view + transpose + reshape copies to NCHW).
                x = nn.functional.channel_shuffle(x, c // size)
            if self.pointwise is not None and index < len(self.pointwise):
                x = self.pointwise[index](x)
        return x
