"""The baseline 3D modules of Table 2a / Table 7, each replacing a bottleneck's 3x3 convolution (with BN, ReLU).

All take and return folded clips ``(N*T, C, H, W)`` like the CT-Module, so any of them fits the same block.
"""
from torch import nn

from ctnet.models.ct_module import JointConv, TemporalConv


def _spatial(channels, stride):
    return nn.Sequential(nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class C3DModule(nn.Module):
    """C3D: one full 3x3x3 convolution."""

    def __init__(self, channels, num_segments, stride=1):
        super().__init__()
        self.conv = JointConv(channels, 1, (3, 3, 3), num_segments, stride)

    def forward(self, x):
        return self.conv(x)


class R2Plus1DModule(nn.Module):
    """R(2+1)D: a full 1x3x3 convolution, then a full 3x1x1 one (both C -> C)."""

    def __init__(self, channels, num_segments, stride=1):
        super().__init__()
        self.spatial = _spatial(channels, stride)
        self.temporal = TemporalConv(channels, 1, 3, num_segments)

    def forward(self, x):
        return self.temporal(self.spatial(x))


class CSNModule(nn.Module):
    """CSN (interaction-preserved): a full 1x1x1 convolution, then a depth-wise 3x3x3 one."""

    def __init__(self, channels, num_segments, stride=1):
        super().__init__()
        self.pointwise = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels),
                                       nn.ReLU(inplace=True))
        self.depthwise = JointConv(channels, channels, (3, 3, 3), num_segments, stride)

    def forward(self, x):
        return self.depthwise(self.pointwise(x))
