"""``ctnet.models``: CT-Net, its baseline modules and backbones, built from a plain-data spec.

``build_model(spec, num_classes)`` is the one entry point; the spec keys are documented in docs/model.md
("Model spec") and validated by :func:`ctnet.model_spec.resolve_spec`.
"""

from ctnet.model_spec import DEFAULT_SPEC, resolve_spec
from ctnet.models.baselines import C3DModule, CSNModule, R2Plus1DModule
from ctnet.models.classifier import VideoClassifier
from ctnet.models.ct_module import CTModule, resolve_sub_dims
from ctnet.models.inception import build_inception
from ctnet.models.pretrained import load_2d_weights, read_state_dict, torchvision_weights
from ctnet.models.resnet import STAGE_DEPTHS, VideoResNet, resolve_plan

__all__ = ["build_model", "count_parameters", "resolve_spec", "DEFAULT_SPEC", "CTModule", "C3DModule",
           "R2Plus1DModule", "CSNModule", "VideoClassifier", "torchvision_weights"]

_BASELINES = {"c3d": C3DModule, "r2plus1d": R2Plus1DModule, "csn": CSNModule}


def _module_factory(spec):
    """``make(channels, stride, block_name)`` for the spec's 3D module (None for TSN, which replaces nothing)."""
    num_segments = spec["num_segments"]
    if spec["module"] == "ct":
        ct = spec["ct"]

        def make(channels, stride, name):
            sub_dims = resolve_sub_dims(ct["sub_dims"], channels, f"block {name}")
            return CTModule(channels, num_segments, sub_dims, ct["kernels"], ct["connection"], ct["pointwise"],
                            ct["excitation"], stride)
        return make
    if spec["module"] == "tsn":
        return None
    baseline = _BASELINES[spec["module"]]
    return lambda channels, stride, name: baseline(channels, num_segments, stride)


def build_model(spec, num_classes):
    """Build the video classifier that ``spec`` describes: input ``(N, 3, T, H, W)``, output ``(N, num_classes)``.

    With ``pretrained`` the torchvision ImageNet weights go into every 2D part (the report of what loaded is in
    ``model.pretrained_report``); with ``freeze_unreplaced`` the stem and unreplaced blocks stop training (their
    BatchNorm layers as ``frozen_bn`` says).
    """
    spec = resolve_spec(spec)
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    # The TSN baseline has no 3D module, whatever the plan says.
    replace = "none" if spec["module"] == "tsn" else spec["replace"]
    make = _module_factory(spec)
    if spec["backbone"] == "inception_v3":
        backbone = build_inception(replace, make)
    else:
        plan = resolve_plan(replace, STAGE_DEPTHS[spec["backbone"]])
        backbone = VideoResNet(spec["backbone"], plan, make, spec["base_width"], spec["zero_init_residual"])
    model = VideoClassifier(backbone, num_classes, spec["num_segments"], spec["dropout"], spec["dropout_on"],
                            spec["frozen_bn"])
    model.spec = spec
    model.pretrained_report = None
    if spec["pretrained"] is not None:
        if spec["base_width"] != 64:
            raise ValueError(f"model spec: pretrained ImageNet weights need base_width 64, got {spec['base_width']}")
        state = read_state_dict(spec["pretrained"], spec["backbone"])
        model.pretrained_report = load_2d_weights(backbone, state, backbone.replaced)
    if spec["freeze_unreplaced"]:
        freeze_unreplaced(backbone)
    return model


def freeze_unreplaced(backbone):
    """The official code's setting: only the replaced blocks and the head keep training.

    In a ResNet a replaced block is the whole bottleneck (the official code re-enables its conv1 and conv3 with
    their BN too); in InceptionV3 it is the replaced convolution.
    """
    keep = tuple(f"{name}." for name in backbone.replaced)
    for name, param in backbone.named_parameters():
        if not name.startswith(keep):
            param.requires_grad_(False)


def count_parameters(model, trainable_only=False):
    """Number of parameters of ``model`` (only those with ``requires_grad`` when ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
