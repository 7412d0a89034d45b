"""Weights of the official CT-Net code (github.com/Andy1621/CT-Net) as a ctnet state dict.

The official model is a TSN (``ops/models.py``) around a torchvision-named ResNet (``arch/resnet.py``) whose
replaced bottlenecks are ``ReshapeBlock``s (``ops/reshape_block.py``); its checkpoints hold the state dict of
the ``DataParallel`` model. Names translate by the rules of ``RULES``; 3D kernels with unit dimensions become
ctnet's 2D ones. One tensor pair is reparametrised: the official fusion convolution acts *before* the
``(x, y) -> (y, x)`` channel permutation of the CT-Module, ctnet's point-wise convolution after it, so its weight
becomes ``W[perm][:, perm]`` and the BN after it ``v[perm]``, which computes the same function.
"""
import re

import numpy as np
import torch

from ctnet.models.ct_module import CTModule
from ctnet.models.pretrained import load_weights_file

# (official pattern, ctnet template), applied in order to each name; named groups go through VALUES.
RULES = [
    (r"^(?:module\.)?new_fc\.", "fc."),  # the TSN head (dropout > 0)
    (r"^(?:module\.)?base_model\.fc\.", "fc."),  # the head left in the ResNet (dropout 0)
    (r"^(?:module\.)?base_model\.", "backbone."),  # the ResNet, torchvision names ...
    # ... except a ReshapeBlock's 1x1 convolutions, which sit in Sequential(conv, BN[, ReLU])
    (r"\.(?P<block>layer\d+\.\d+)\.conv(?P<n>[13])\.0\.", ".{block}.conv{n}."),
    (r"\.(?P<block>layer\d+\.\d+)\.conv(?P<n>[13])\.1\.", ".{block}.bn{n}."),
    # its ReshapeInteraction: sub-dimension x (CTModule.stages.0), the fusion, sub-dimension y (stages.1)
    (r"\.conv2\.conv(?P<stage>1_x|2_y)\.", ".conv2.stages.{stage}.spatial."),
    (r"\.conv2\.conv(?P<stage>1|2)_z\.0\.", ".conv2.stages.{stage}.temporal.conv."),
    (r"\.conv2\.conv(?P<stage>1|2)_z\.1\.", ".conv2.stages.{stage}.temporal.bn."),
    (r"\.conv2\.(?P<te>[stc])(?P<stage>x|y)_attention\.fc1\.", ".conv2.stages.{stage}.{te}_te.squeeze."),
    (r"\.conv2\.(?P<te>[stc])(?P<stage>x|y)_attention\.fc2\.0\.", ".conv2.stages.{stage}.{te}_te.expand."),
    (r"\.conv2\.fusion\.", ".conv2.pointwise.0."),
]
VALUES = {"stage": {"1_x": 0, "2_y": 1, "1": 0, "2": 1, "x": 0, "y": 1},
          "te": {"s": "spatial", "t": "temporal", "c": "channel"}}
# thop's profile() (the official main.py counts FLOPs before training) leaves these buffers in every leaf module.
PROFILER_BUFFERS = ("total_ops", "total_params")
# A pointwise conv of a CTModule and the BN after it: the tensors the channel permutation moves.
POINTWISE = re.compile(r"^(?P<module>.+)\.pointwise\.(?P<index>\d+)\.(?P<layer>[01])\.(?P<param>\w+)$")


class OfficialMappingError(ValueError):
    """An official checkpoint that does not fit the ctnet model; the message names the key."""


def _fill(template, match):
    return template.format(**{k: VALUES.get(k, {}).get(v, v) for k, v in match.groupdict().items()})


def ctnet_name(official_name):
    """The ctnet state-dict name of an official one (per RULES)."""
    name = official_name
    for pattern, template in RULES:
        name = re.sub(pattern, lambda m, t=template: _fill(t, m), name, count=1)
    return name


def _fit(official_name, tensor, name, shape):
    """``tensor`` in ``shape``: equal, or a Conv3d kernel whose unit dimension ctnet's Conv2d drops."""
    if tensor.shape == shape:
        return tensor
    # (t, h, w) kernels: ctnet's temporal convolutions are (t, 1) over (T, H*W), so t x 1 x 1 -> (t, 1); the
    # others are (h, w), so 1 x h x w -> (h, w). A kernel along another axis has the elements but not the meaning.
    if tensor.dim() == 5 and len(shape) == 4:
        kernel = (*shape, 1) if ".temporal" in name else (*shape[:2], 1, *shape[2:])
        if tensor.shape == kernel:
            return tensor.reshape(shape)
    raise OfficialMappingError(f"official {official_name} has shape {tuple(tensor.shape)}, but ctnet's {name} "
                               f"has {tuple(shape)}; build the ctnet model with the official run's settings")


def _permute_pointwise(name, tensor, model):
    """Move the official fusion conv (and its BN) from before the channel permutation to after it."""
    match = POINTWISE.match(name)
    if match is None or match["param"] == "num_batches_tracked":
        return tensor
    module = model.get_submodule(match["module"])
    if not isinstance(module, CTModule):
        return tensor
    channels, size = tensor.shape[0], module.sub_dims[int(match["index"])]
    perm = torch.arange(channels).view(channels // size, size).t().flatten()
    return tensor[perm][:, perm] if match["layer"] == "0" else tensor[perm]


def official_to_ctnet(official_state_dict, model):
    """The state dict for ``model`` (a ctnet ResNet TSN or CT-Net) holding the official weights, checked complete."""
    own = model.state_dict()
    state, source = {}, {}
    for official_name, tensor in official_state_dict.items():
        if official_name.rsplit(".", 1)[-1] in PROFILER_BUFFERS:
            continue
        name = ctnet_name(official_name)
        if name not in own:
            raise OfficialMappingError(f"official {official_name} has no place in the ctnet model (mapped to "
                                       f"{name}); build the ctnet model with the official run's settings")
        if name in state:
            raise OfficialMappingError(f"official {official_name} and {source[name]} both map to {name}")
        tensor = _fit(official_name, tensor, name, own[name].shape)
        state[name], source[name] = _permute_pointwise(name, tensor, model), official_name
    missing = [name for name in own if name not in state]
    if missing:
        raise OfficialMappingError(f"ctnet's {missing[0]} (and {len(missing) - 1} more) has no official "
                                   "counterpart; build the ctnet model with the official run's settings")
    return state


def numpy_scalar_globals():
    """What an old checkpoint's numpy float (``best_prec1``) needs to unpickle, and nothing else."""
    scalar = np.float64(0).__reduce__()[0]  # numpy's scalar reconstructor, wherever this numpy keeps it
    return [scalar, (scalar, "numpy.core.multiarray.scalar"),  # the name numpy 1.x wrote
            np.dtype, type(np.dtype(np.float64)), type(np.dtype(np.float32))]


def load_official(path):
    """The official checkpoint at ``path``: weights_only, plus numpy floats; a crafted pickle is refused. Every
    failure is one line naming the file (``load_weights_file``)."""
    return load_weights_file(path, "pass a checkpoint saved by the official main.py (e.g. ckpt.best.pth.tar)",
                             allowed_globals=numpy_scalar_globals())
