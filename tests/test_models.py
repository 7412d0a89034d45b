"""build_model: spec validation, replacement plans, shapes, parameter counts and the freeze option."""
import pytest
import torch
import torchvision

from ctnet.models import CTModule, build_model, count_parameters, resolve_spec
from ctnet.models.baselines import C3DModule, CSNModule, R2Plus1DModule

SMALL = {"base_width": 8, "num_segments": 3}


def _clip(frames=3, size=32, batch=2):
    return torch.randn(batch, 3, frames, size, size)


@pytest.mark.parametrize("module, cls", [("ct", CTModule), ("c3d", C3DModule), ("r2plus1d", R2Plus1DModule),
                                         ("csn", CSNModule)])
def test_every_module_trains_at_small_width(module, cls):
    model = build_model(dict(SMALL, module=module), num_classes=5)
    assert sum(isinstance(m, cls) for m in model.modules()) == 7
    out = model(_clip())
    assert out.shape == (2, 5)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("ct", [
    {"sub_dims": 3},  # base_width 8: res2 is 2 x 2 x 2, res5 (64 channels) 4 x 4 x 4
    {"sub_dims": 1, "connection": "joint"},
    {"sub_dims": ["auto", 2], "kernels": [1, 5], "connection": "serial", "excitation": "se"},
    {"sub_dims": 4, "pointwise": False, "excitation": None},
])
def test_ct_variants_forward(ct):
    model = build_model(dict(SMALL, ct=ct), num_classes=4)
    assert model(_clip()).shape == (2, 4)


@pytest.mark.parametrize("frames", [1, 12, 24])
def test_any_number_of_frames(frames):
    model = build_model({"base_width": 8, "num_segments": frames}, num_classes=3).eval()
    with torch.no_grad():
        assert model(_clip(frames=frames, batch=1)).shape == (1, 3)


def test_wrong_frame_count_is_a_clear_error():
    model = build_model(SMALL, num_classes=3)
    with pytest.raises(ValueError, match="num_segments 3"):
        model(_clip(frames=4))


@pytest.mark.parametrize("backbone, replace, expected", [
    ("resnet50", "none", 0), ("resnet50", "res5_one", 1), ("resnet50", "res4_res5", 4),
    ("resnet50", "every_second", 7), ("resnet101", "every_second", 15), ("resnet26", "every_second", 4),
    ("resnet50", ["layer2.0", "layer4.2"], 2),
])
def test_replacement_plans(backbone, replace, expected):
    model = build_model({"backbone": backbone, "replace": replace, "base_width": 4, "num_segments": 2}, 3)
    assert len(model.backbone.replaced) == expected
    assert sum(isinstance(m, CTModule) for m in model.modules()) == expected
    if replace == "res4_res5":
        assert model.backbone.replaced == ["layer3.1", "layer3.3", "layer3.5", "layer4.1"]
    if isinstance(replace, list):  # a stride-2 block takes the module too
        assert model(torch.randn(2, 3, 2, 64, 64)).shape == (2, 3)


def test_tsn_matches_torchvision_resnet50_parameters():
    model = build_model({"module": "tsn"}, num_classes=1000)
    assert count_parameters(model) == count_parameters(torchvision.models.resnet50())
    ct_net = build_model({}, num_classes=174)
    # The CT-Modules are lighter than the 3x3 convolutions they replace.
    assert count_parameters(ct_net) < count_parameters(build_model({"module": "tsn"}, 174))


def test_inception_v3_backbone():
    model = build_model({"backbone": "inception_v3", "num_segments": 2}, num_classes=6)
    assert model.backbone.replaced == ["Mixed_5b.branch3x3dbl_3", "Mixed_5c.branch3x3dbl_3",
                                       "Mixed_5d.branch3x3dbl_3"]
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 2, 96, 96)).shape == (1, 6)
    with pytest.raises(ValueError, match="ResNet plan"):
        build_model({"backbone": "inception_v3", "replace": "res5_one"}, 6)


def test_freeze_unreplaced_counts_and_keeps_bn_statistics():
    spec = dict(SMALL, freeze_unreplaced=True)
    model = build_model(spec, num_classes=5)
    free = build_model(SMALL, num_classes=5)
    trainable = count_parameters(model, trainable_only=True)
    assert count_parameters(model) == count_parameters(free) == count_parameters(free, trainable_only=True)
    expected = sum(p.numel() for n, p in model.named_parameters()
                   if n.startswith("fc.") or any(n.startswith(f"backbone.{b}.") for b in model.backbone.replaced))
    assert 0 < trainable == expected < count_parameters(model)
    model.train()
    assert not model.backbone.bn1.training and not model.backbone.layer1[0].bn1.training
    assert model.backbone.layer1[1].bn1.training  # a replaced block trains fully


@pytest.mark.parametrize("spec, key", [
    ({"backbone": "vgg"}, "backbone"), ({"module": "tsm"}, "module"), ({"num_segments": 0}, "num_segments"),
    ({"replace": "all"}, "replace"), ({"dropout": 1.5}, "dropout"), ({"base_width": "64"}, "base_width"),
    ({"freeze_unreplaced": "yes"}, "freeze_unreplaced"), ({"colour": 1}, "colour"),
    ({"zero_init_residual": 1}, "zero_init_residual"), ({"backbone": "resnet26", "pretrained": "w.pth"}, "pretrained"),
    ({"ct": {"sub_dims": 0}}, "ct.sub_dims"), ({"ct": {"sub_dims": ["auto", "auto"]}}, "ct.sub_dims"),
    ({"ct": {"kernels": [3, 3, 3]}}, "ct.kernels"), ({"ct": {"kernels": 2}}, "ct.kernels"),
    ({"ct": {"connection": "mixed"}}, "ct.connection"), ({"ct": {"excitation": "nl"}}, "ct.excitation"),
    ({"ct": {"pointwise": 1}}, "ct.pointwise"), ({"ct": {"k": 2}}, "ct.k"),
    ({"frozen_bn": "eval"}, "frozen_bn"), ({"dropout_on": "features"}, "dropout_on"),
    ({"pretrained": "torchvision"}, "pretrained"), ({"pretrained": "torchvision:IMAGENET1K_V3"}, "pretrained"),
])
def test_bad_spec_names_the_key(spec, key):
    with pytest.raises(ValueError, match=rf"model spec: {key} "):
        resolve_spec(spec)


def test_zero_init_residual_starts_every_block_as_identity():
    spec = {"backbone": "resnet26", "base_width": 4, "num_segments": 2, "zero_init_residual": True}
    model = build_model(spec, 3).eval()
    block = model.backbone.layer1[1]  # a replaced block without downsampling
    x = torch.rand(4, 16, 8, 8)  # (N*T, 4 * base_width, H, W), non-negative as after a ReLU
    assert torch.equal(block(x), x)
    plain = build_model({**spec, "zero_init_residual": False}, 3).eval()
    assert not torch.equal(plain.backbone.layer1[1](x), x)


def test_bad_block_name_and_sizes():
    with pytest.raises(ValueError, match="layer5.1"):
        build_model({"replace": ["layer5.1"], "base_width": 8}, 3)
    with pytest.raises(ValueError, match="multiply to 64 but block layer2.1"):
        build_model({"ct": {"sub_dims": [8, 8]}}, 3)


def test_defaults_are_the_full_ct_net():
    spec = resolve_spec({})
    assert spec["ct"] == {"sub_dims": 2, "kernels": [3, 3], "connection": "parallel", "pointwise": True,
                          "excitation": "te"}
    assert spec["replace"] == "every_second" and spec["module"] == "ct" and spec["base_width"] == 64
