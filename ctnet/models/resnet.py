"""ResNet-26/50/101 for folded clips ``(N*T, 3, H, W)``, with chosen bottlenecks' 3x3 convolution replaced.

Parameter names follow torchvision's ``models/resnet.py`` (v1.5: stride on the 3x3 convolution), so its ImageNet
state dicts load unchanged into every 2D part. ``base_width`` scales the stem and all stages (64 = torchvision).
ResNet-26 (two bottlenecks per stage, no ImageNet weights) is the CPU-scale backbone of the synthetic configs.
"""
from torch import nn

STAGE_DEPTHS = {"resnet26": (2, 2, 2, 2), "resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3)}


def every_second_blocks(depths):
    """The paper's default plan: blocks 1, 3, 5, ... of each stage (7 in ResNet-50, 15 in ResNet-101)."""
    return [f"layer{stage + 1}.{index}" for stage, depth in enumerate(depths) for index in range(1, depth, 2)]


def resolve_plan(replace, depths):
    """Block names (``layerS.i``) that get the 3D module, for a plan name or an explicit list."""
    default = every_second_blocks(depths)
    if isinstance(replace, list):
        known = [f"layer{stage + 1}.{index}" for stage, depth in enumerate(depths) for index in range(depth)]
        for name in replace:
            if name not in known:
                raise ValueError(f"model spec: replace names block {name!r}, which this ResNet lacks; "
                                 f"use names layer1.0 .. layer4.{depths[3] - 1}")
        return list(dict.fromkeys(replace))
    plans = {
        "none": [],
        "res5_one": [name for name in default if name.startswith("layer4")][:1],
        "res4_res5": [name for name in default if name.startswith(("layer3", "layer4"))],
        "every_second": default,
    }
    return plans[replace]


class Bottleneck(nn.Module):
    """torchvision's 2D bottleneck (the TSN block), or with ``conv2`` given, a video block whose 3x3 convolution,
    BN and ReLU are that one 3D module (it brings its own BN and ReLU)."""

    expansion = 4

    def __init__(self, inplanes, width, stride=1, downsample=None, conv2=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        if conv2 is None:
            self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
        else:
            self.conv2 = conv2  # torchvision's name and position, so pretrained keys line up
            self.bn2 = None
        self.conv3 = nn.Conv2d(width, width * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.conv2(out) if self.bn2 is None else self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        # In place, as in torchvision: a new tensor per block (176 MB in all for 8 frames of 224 x 224) costs about
        # 3 % of TSN-R50's CPU inference time.
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class VideoResNet(nn.Module):
    """The 2D ResNet trunk over folded clips: ``(N*T, 3, H, W) -> (N*T, 8 * 4 * base_width)`` features.

    ``make_module(channels, stride, block_name)`` builds the 3D module for each block named in ``replaced``.
    ``zero_init_residual`` starts every block as the identity (torchvision's option): it speeds up training from
    scratch; with ImageNet weights it has no effect on the loaded blocks.
    """

    def __init__(self, depth_name, replaced, make_module, base_width=64, zero_init_residual=False):
        super().__init__()
        depths = STAGE_DEPTHS[depth_name]
        self.replaced = list(replaced)
        self.conv1 = nn.Conv2d(3, base_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes = base_width
        for stage, depth in enumerate(depths):
            width = base_width * 2 ** stage
            blocks = []
            for index in range(depth):
                stride = 2 if stage > 0 and index == 0 else 1
                downsample = None
                if index == 0:
                    downsample = nn.Sequential(nn.Conv2d(inplanes, width * 4, 1, stride=stride, bias=False),
                                               nn.BatchNorm2d(width * 4))
                name = f"layer{stage + 1}.{index}"
                if name in self.replaced:
                    blocks.append(Bottleneck(inplanes, width, stride, downsample, make_module(width, stride, name)))
                else:
                    blocks.append(Bottleneck(inplanes, width, stride, downsample))
                inplanes = width * 4
            self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))
        self.out_channels = inplanes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N*T, w, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (N*T, 32w, H/32, W/32)
        return self.avgpool(x).flatten(1)
