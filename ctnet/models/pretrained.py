"""Loading torchvision ImageNet state dicts into the 2D parts of a video backbone."""
import logging
import os
import pickle
import re
import warnings

import torch

from ctnet.model_spec import TORCHVISION_PREFIX, torchvision_version

log = logging.getLogger(__name__)


def torchvision_weights(backbone_name, version):
    """torchvision's weights enum member ``version`` of ``backbone_name`` (e.g. ``ResNet50_Weights.IMAGENET1K_V1``,
    whose file is the official code's resnet50-19c8e357.pth); nothing is downloaded."""
    from torchvision.models import get_model_weights

    weights = get_model_weights(backbone_name)
    if version not in weights.__members__:
        raise ValueError(f"model.pretrained: torchvision has no {version} weights for {backbone_name}; use one of "
                         f"{[TORCHVISION_PREFIX + name for name in weights.__members__ if name != 'DEFAULT']}")
    return weights[version]


def load_weights_file(path, fix, prefix="", allowed_globals=()):
    """torch.load(path, weights_only=True), with `allowed_globals` besides tensors and plain data.

    Every failure is one line, "`prefix``path`: what is wrong; `fix`": no such file, a directory, a pickled object
    that loading would have to run, or not a torch file at all. Never torch's advice to load again without
    weights_only: that is how a crafted file runs code, and garbage would not load either way.
    """
    if os.path.isdir(path):
        raise ValueError(f"{prefix}{path}: is a directory, not a weights file; {fix}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{prefix}{path}: no such file; {fix}")
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(list(allowed_globals)):
            # Random bytes read as a pickle header make torch warn about the protocol: the error says it all.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        blocked = re.search(r"GLOBAL (\S+)", str(err))
        if blocked is None:
            raise ValueError(f"{prefix}{path}: not a torch checkpoint (truncated, or another kind of file); "
                             f"{fix}") from None
        raise ValueError(f"{prefix}{path}: holds a pickled {blocked[1]}, not tensors and plain data only, and "
                         f"loading it could run code; {fix}") from None
    except Exception:  # noqa: BLE001 -- garbage makes torch raise RuntimeError, EOFError, IndexError, KeyError, ...
        raise ValueError(f"{prefix}{path}: not a torch checkpoint (truncated, or another kind of file); "
                         f"{fix}") from None


def read_state_dict(source, backbone_name):
    """A torchvision state dict from a local ``.pth`` path, or ``"torchvision:<version>"`` (e.g.
    ``torchvision:IMAGENET1K_V1``): that version from torchvision's weights API (downloaded once into its cache)."""
    if source == "torchvision":
        raise ValueError("model.pretrained: 'torchvision' does not say which ImageNet weights; name the version, "
                         "e.g. 'torchvision:IMAGENET1K_V1' (the official code's) or 'torchvision:IMAGENET1K_V2'")
    version = torchvision_version(source)
    if version is not None:
        return torchvision_weights(backbone_name, version).get_state_dict(progress=True)
    state = load_weights_file(source, "give a torchvision ImageNet state dict (.pth), 'torchvision:<version>' to "
                              "download it, or null", prefix="model.pretrained: ")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"model.pretrained: {source} is not a state dict of tensors; save it with "
                         "torch.save(torchvision_model.state_dict(), path)")
    return state


def load_2d_weights(backbone, state, replaced):
    """Copy every tensor of ``state`` whose name and shape fit into ``backbone``.

    Returns ``{"loaded", "fresh", "missing_2d", "unused", "mismatched"}`` name lists: ``fresh`` are parameters of
    the 3D modules (initialised anew), ``missing_2d`` 2D parameters the file lacks, ``unused`` file keys the
    network has no place for (the ImageNet classifier, the replaced 3x3 convolutions), ``mismatched`` same name,
    other shape. Everything but ``loaded`` and ``fresh`` is also logged by name.
    """
    own = backbone.state_dict()
    prefixes = tuple(f"{name}.conv2." if name.startswith("layer") else f"{name}." for name in replaced)
    report = {"loaded": [], "fresh": [], "missing_2d": [], "unused": [], "mismatched": []}
    to_load = {}
    for key, value in own.items():
        if key in state and state[key].shape == value.shape:
            to_load[key] = state[key]
            report["loaded"].append(key)
        elif key in state:
            report["mismatched"].append(key)
        elif key.startswith(prefixes):
            report["fresh"].append(key)
        else:
            report["missing_2d"].append(key)
    report["unused"] = sorted(set(state) - set(own))
    backbone.load_state_dict(to_load, strict=False)
    for kind in ("missing_2d", "unused", "mismatched"):
        if report[kind]:
            log.warning("pretrained weights: %d %s keys: %s", len(report[kind]), kind, ", ".join(report[kind]))
    return report
