"""The model spec: plain YAML-able data naming one model row of the paper. Defaults and up-front validation.

Torch-free, so that the workflow checks every experiment's model when it plans the run.
"""
import copy

BACKBONES = ("resnet26", "resnet50", "resnet101", "inception_v3")
MODULES = ("tsn", "c3d", "r2plus1d", "csn", "ct")
PLANS = ("none", "res5_one", "res4_res5", "every_second")
CONNECTIONS = ("parallel", "serial", "joint")
EXCITATIONS = ("te", "se", None)
# How BatchNorm layers frozen by freeze_unreplaced normalise in training: "frozen" keeps them in eval mode (their
# ImageNet statistics), "batch" is the official code's --npb (batch statistics, running statistics updated; the
# affine parameters stay frozen either way).
FROZEN_BN = ("frozen", "batch")
# Where dropout acts: "clip" on the frame-averaged features (one mask per clip), "frames" on each frame's features
# before a per-frame classifier whose scores are then averaged (the official code). Equal in eval.
DROPOUT_ON = ("clip", "frames")
# torchvision's ImageNet weights per backbone, named "torchvision:<version>"; the official code's are IMAGENET1K_V1
# (resnet50-19c8e357.pth, resnet101-5d3b4d8f.pth).
TORCHVISION_WEIGHTS = {"resnet50": ("IMAGENET1K_V1", "IMAGENET1K_V2"), "resnet101": ("IMAGENET1K_V1", "IMAGENET1K_V2"),
                       "inception_v3": ("IMAGENET1K_V1",)}
TORCHVISION_PREFIX = "torchvision:"

# The paper's full CT-Net (section 3, Table 2g's last row) with the Something-Something head.
DEFAULT_SPEC = {
    "backbone": "resnet50",
    "module": "ct",
    "num_segments": 8,
    "replace": "every_second",
    "pretrained": None,
    "dropout": 0.3,
    "base_width": 64,
    "freeze_unreplaced": False,
    "zero_init_residual": False,
    "frozen_bn": "frozen",
    "dropout_on": "clip",
    "ct": {"sub_dims": 2, "kernels": None, "connection": "parallel", "pointwise": True, "excitation": "te"},
}


def _fail(key, value, allowed):
    raise ValueError(f"model spec: {key} = {value!r} is not allowed; use {allowed}")


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def torchvision_version(source):
    """The weights version of a ``pretrained`` value ``"torchvision:<version>"``, None for anything else."""
    if isinstance(source, str) and source.startswith(TORCHVISION_PREFIX):
        return source[len(TORCHVISION_PREFIX):]
    return None


def _check_pretrained(source, backbone):
    if source is None:
        return
    allowed = "a path to a .pth state dict, 'torchvision:<version>' (e.g. 'torchvision:IMAGENET1K_V1'), or null"
    if not isinstance(source, str):
        _fail("pretrained", source, allowed)
    if backbone == "resnet26":
        _fail("pretrained", source, "null with backbone resnet26 (no ImageNet weights exist for it)")
    versions = TORCHVISION_WEIGHTS[backbone]
    if source == "torchvision":
        _fail("pretrained", source, "'torchvision:<version>' naming the weights version, one of "
              f"{[TORCHVISION_PREFIX + v for v in versions]} (the official code's is IMAGENET1K_V1)")
    version = torchvision_version(source)
    if version is not None and version not in versions:
        _fail("pretrained", source, f"one of {[TORCHVISION_PREFIX + v for v in versions]} for backbone {backbone}")


def resolve_spec(spec):
    """Return a complete, validated copy of ``spec`` (absent keys take DEFAULT_SPEC's values).

    Raises ValueError naming the offending key and the allowed values.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"model spec must be a mapping, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(DEFAULT_SPEC))
    if unknown:
        _fail(unknown[0], spec[unknown[0]], f"one of the keys {sorted(DEFAULT_SPEC)}")
    resolved = copy.deepcopy(DEFAULT_SPEC)
    resolved.update({key: copy.deepcopy(value) for key, value in spec.items() if key != "ct"})
    ct = spec.get("ct") or {}
    if not isinstance(ct, dict):
        _fail("ct", ct, "a mapping with keys sub_dims, kernels, connection, pointwise, excitation")
    unknown = sorted(set(ct) - set(DEFAULT_SPEC["ct"]))
    if unknown:
        _fail(f"ct.{unknown[0]}", ct[unknown[0]], f"one of the keys {sorted(DEFAULT_SPEC['ct'])}")
    resolved["ct"].update(copy.deepcopy(ct))

    if resolved["backbone"] not in BACKBONES:
        _fail("backbone", resolved["backbone"], BACKBONES)
    if resolved["module"] not in MODULES:
        _fail("module", resolved["module"], MODULES)
    if not is_int(resolved["num_segments"]) or resolved["num_segments"] < 1:
        _fail("num_segments", resolved["num_segments"], "a positive integer")
    replace = resolved["replace"]
    if isinstance(replace, list):
        if not replace or not all(isinstance(name, str) for name in replace):
            _fail("replace", replace, "a non-empty list of block names such as ['layer3.1', 'layer4.1']")
    elif replace not in PLANS:
        _fail("replace", replace, f"one of {PLANS} or a list of block names")
    dropout = resolved["dropout"]
    if not is_number(dropout) or not 0 <= dropout < 1:
        _fail("dropout", dropout, "a number in [0, 1)")
    if not is_int(resolved["base_width"]) or resolved["base_width"] < 1:
        _fail("base_width", resolved["base_width"], "a positive integer (64 = the paper)")
    if resolved["backbone"] == "inception_v3" and resolved["base_width"] != 64:
        _fail("base_width", resolved["base_width"], "64 with backbone inception_v3 (only ResNets scale)")
    if not isinstance(resolved["freeze_unreplaced"], bool):
        _fail("freeze_unreplaced", resolved["freeze_unreplaced"], "true or false")
    if not isinstance(resolved["zero_init_residual"], bool):
        _fail("zero_init_residual", resolved["zero_init_residual"], "true or false")
    if resolved["backbone"] == "inception_v3" and resolved["zero_init_residual"]:
        _fail("zero_init_residual", True, "false with backbone inception_v3 (it has no residual blocks)")
    _check_pretrained(resolved["pretrained"], resolved["backbone"])
    if resolved["frozen_bn"] not in FROZEN_BN:
        _fail("frozen_bn", resolved["frozen_bn"], FROZEN_BN)
    if resolved["dropout_on"] not in DROPOUT_ON:
        _fail("dropout_on", resolved["dropout_on"], DROPOUT_ON)
    _check_ct(resolved["ct"])
    return resolved


def _check_ct(ct):
    sub_dims = ct["sub_dims"]
    if is_int(sub_dims):
        if sub_dims < 1:
            _fail("ct.sub_dims", sub_dims, "K >= 1 or a list of sizes")
        num = sub_dims
    elif isinstance(sub_dims, list) and sub_dims and all(
            (is_int(size) and size >= 1) or size == "auto" for size in sub_dims) and sub_dims.count("auto") <= 1:
        num = len(sub_dims)
    else:
        _fail("ct.sub_dims", sub_dims, "K (an integer >= 1) or a list of positive sizes with at most one 'auto'")
    kernels = ct["kernels"]
    if kernels is None:
        ct["kernels"] = [3] * num
    elif is_int(kernels) and kernels % 2 == 1:
        ct["kernels"] = [kernels] * num
    elif not (isinstance(kernels, list) and len(kernels) == num
              and all(is_int(k) and k >= 1 and k % 2 == 1 for k in kernels)):
        _fail("ct.kernels", kernels, f"an odd kernel size or a list of {num} odd sizes (one per sub-dimension)")
    if ct["connection"] not in CONNECTIONS:
        _fail("ct.connection", ct["connection"], CONNECTIONS)
    if not isinstance(ct["pointwise"], bool):
        _fail("ct.pointwise", ct["pointwise"], "true or false")
    if ct["excitation"] not in EXCITATIONS:
        _fail("ct.excitation", ct["excitation"], "te, se or null")
