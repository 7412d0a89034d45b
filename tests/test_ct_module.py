"""The CT-Module's claims from section 3 of the paper, measured rather than read off the code."""
import pytest
import torch

from ctnet.models import C3DModule, CSNModule, CTModule
from ctnet.models.ct_module import balanced_factors, resolve_sub_dims


@pytest.mark.parametrize("channels, k, expected", [
    (64, 2, [8, 8]), (128, 2, [16, 8]), (256, 2, [16, 16]), (512, 2, [32, 16]),
    (128, 3, [8, 4, 4]), (64, 4, [4, 4, 2, 2]), (8, 2, [4, 2]), (8, 3, [2, 2, 2]), (24, 2, [6, 4]), (7, 2, [7, 1]),
])
def test_balanced_factors(channels, k, expected):
    assert balanced_factors(channels, k) == expected


def test_resolve_sub_dims_auto_and_errors():
    assert resolve_sub_dims(["auto", 2], 128, "block x") == [64, 2]
    assert resolve_sub_dims([4, "auto"], 64, "block x") == [4, 16]
    with pytest.raises(ValueError, match="layer2.1"):
        resolve_sub_dims([8, 8], 128, "block layer2.1")
    with pytest.raises(ValueError, match="not divisible"):
        resolve_sub_dims(["auto", 3], 64, "block layer1.1")


def _copy_conv_bn(dst_conv, dst_bn, src_conv, src_bn):
    dst_conv.weight.data.copy_(src_conv.weight.data.view_as(dst_conv.weight))
    dst_bn.load_state_dict(src_bn.state_dict())


def _randomise_bn(module):
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def test_k1_joint_3x3x3_is_c3d():
    torch.manual_seed(0)
    c3d = C3DModule(6, num_segments=4).eval()
    ct = CTModule(6, 4, sub_dims=[6], kernels=[3], connection="joint", pointwise=False, excitation=None).eval()
    _randomise_bn(c3d)
    _copy_conv_bn(ct.stages[0].joint.conv, ct.stages[0].joint.bn, c3d.conv.conv, c3d.conv.bn)
    x = torch.randn(2 * 4, 6, 5, 5)
    torch.testing.assert_close(ct(x), c3d(x))


def test_ct_csn_setting_is_csn():
    # K = 2, C = C x 1, kernel 1x1x1 then 3x3x3: a full point-wise then a depth-wise convolution.
    torch.manual_seed(0)
    csn = CSNModule(6, num_segments=4).eval()
    ct = CTModule(6, 4, sub_dims=[6, 1], kernels=[1, 3], connection="joint", pointwise=False, excitation=None).eval()
    _randomise_bn(csn)
    _copy_conv_bn(ct.stages[0].joint.conv, ct.stages[0].joint.bn, csn.pointwise[0], csn.pointwise[1])
    _copy_conv_bn(ct.stages[1].joint.conv, ct.stages[1].joint.bn, csn.depthwise.conv, csn.depthwise.bn)
    x = torch.randn(2 * 4, 6, 5, 5)
    torch.testing.assert_close(ct(x), csn(x))


def _dependence(module, channels, frames, size):
    """Input channels and (t, h, w) extent that output element (channel 0, centre) depends on, via autograd."""
    module.eval().double()
    for m in module.modules():  # positive weights and inputs keep every ReLU open, so no path is cut
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d)):
            m.weight.data.abs_()
    x = torch.rand(frames, channels, size, size, dtype=torch.double, requires_grad=True)
    y = module(x).view(1, frames, channels, size, size)
    y[0, frames // 2, 0, size // 2, size // 2].backward()
    grad = x.grad.view(frames, channels, size, size).abs() > 0
    chans = grad.any(dim=(0, 2, 3)).nonzero().flatten().tolist()
    extent = [int(grad.any(dim=dims).sum()) for dims in ((1, 2, 3), (0, 1, 3), (0, 1, 2))]
    return chans, extent


@pytest.mark.parametrize("connection", ["parallel", "serial", "joint"])
def test_interaction_field_grows_with_each_sub_dimension(connection):
    channels, frames, size = 12, 9, 9  # C = 4 x 3: C1 = 4 channels interact first, then all 12
    ct = CTModule(channels, frames, sub_dims=[4, 3], kernels=[3, 3], connection=connection, pointwise=False,
                  excitation=None)
    first = CTModule(channels, frames, sub_dims=[4, 3], kernels=[3, 3], connection=connection, pointwise=False,
                     excitation=None)
    first.stages = first.stages[:1]
    first.sub_dims = first.sub_dims[:1]
    chans, extent = _dependence(first, channels, frames, size)
    assert len(chans) == 4 and extent == [3, 3, 3]
    chans, extent = _dependence(ct, channels, frames, size)
    assert chans == list(range(channels)) and extent == [5, 5, 5]


def test_full_ct_module_shapes_and_strides():
    ct = CTModule(8, 3, sub_dims=[2, 2, 2], kernels=[3, 1, 5], connection="parallel", pointwise=True,
                  excitation="te", stride=2)
    assert ct(torch.randn(2 * 3, 8, 8, 8)).shape == (6, 8, 4, 4)
    se = CTModule(8, 3, sub_dims=[4, 2], kernels=[3, 3], connection="serial", pointwise=False, excitation="se")
    assert se(torch.randn(3, 8, 6, 6)).shape == (3, 8, 6, 6)


def test_parameter_count_of_plain_ct_module():
    c = 64  # K = 2 (8 x 8): per sub-dimension a 1x3x3 and a 3x1x1 grouped conv (C * C_k * 9, C * C_k * 3) and 2 BN
    ct = CTModule(c, 8, sub_dims=[8, 8], kernels=[3, 3], pointwise=False, excitation=None)
    assert sum(p.numel() for p in ct.parameters()) == 2 * (c * 8 * 9 + c * 8 * 3 + 2 * 2 * c)
    with_pw = CTModule(c, 8, sub_dims=[8, 8], kernels=[3, 3], pointwise=True, excitation=None)
    assert sum(p.numel() for p in with_pw.parameters()) == 2 * (c * 8 * 12 + 4 * c) + c * c + 2 * c


def test_rejects_inconsistent_arguments():
    with pytest.raises(ValueError, match="multiply"):
        CTModule(64, 8, sub_dims=[8, 4], kernels=[3, 3])
    with pytest.raises(ValueError, match="one kernel per"):
        CTModule(64, 8, sub_dims=[8, 8], kernels=[3])
