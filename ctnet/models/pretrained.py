"""Loading torchvision ImageNet state dicts into the 2D parts of a video backbone."""
import logging
import os

import torch

log = logging.getLogger(__name__)


def read_state_dict(source, backbone_name):
    """A torchvision state dict from a local ``.pth`` path, or ``"torchvision"``: the weights API's default."""
    if source == "torchvision":
        from torchvision.models import get_model_weights

        return get_model_weights(backbone_name).DEFAULT.get_state_dict(progress=True)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"model.pretrained: {source} does not exist; give a torchvision ImageNet state "
                                "dict (.pth), 'torchvision' to download it, or null")
    state = torch.load(source, map_location="cpu", weights_only=True)
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
