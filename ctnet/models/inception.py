"""InceptionV3 for folded clips (appendix A.6, Table 8): torchvision's network with 3x3 convolutions replaced.

A 3D module keeps the channel count, so the replaceable convolutions are the 3x3 ones inside the Inception blocks
that map C -> C channels with "same" padding: ``Mixed_5b/5c/5d.branch3x3dbl_3`` (96 -> 96 channels; the other
3x3 convolutions change the width or stride without padding). The default plan replaces all three; ``replace`` may also list some of them by name.
"""
from torch import nn


def replaceable_convs(net):
    # torchvision is imported where it is used: importing it costs every process that builds a ResNet seconds.
    from torchvision.models.inception import BasicConv2d
    return [name for name, m in net.named_modules()
            if isinstance(m, BasicConv2d) and name.startswith("Mixed") and m.conv.kernel_size == (3, 3)
            and m.conv.in_channels == m.conv.out_channels and m.conv.padding == (1, 1)]


def build_inception(replace, make_module):
    """``(N*T, 3, H, W) -> (N*T, 2048)``; ``make_module(channels, stride, name)`` builds each 3D module."""
    from torchvision.models import inception_v3

    net = inception_v3(weights=None, aux_logits=False, init_weights=True, dropout=0.0)
    net.fc = nn.Identity()
    eligible = replaceable_convs(net)
    if replace == "every_second":
        chosen = eligible
    elif replace == "none":
        chosen = []
    elif isinstance(replace, list):
        chosen = list(dict.fromkeys(replace))
        for name in chosen:
            if name not in eligible:
                raise ValueError(f"model spec: replace names {name!r}, not a replaceable InceptionV3 convolution; "
                                 f"use some of {eligible}")
    else:
        raise ValueError(f"model spec: replace = {replace!r} is a ResNet plan; with inception_v3 use "
                         f"every_second (all of {eligible}), none, or a list of those names")
    for name in chosen:
        parent_name, child = name.rsplit(".", 1)
        conv = net.get_submodule(name).conv
        setattr(net.get_submodule(parent_name), child, make_module(conv.out_channels, conv.stride[0], name))
    net.replaced = chosen
    net.out_channels = 2048
    return net
