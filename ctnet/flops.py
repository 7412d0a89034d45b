"""FLOPs and parameter counts at the paper's convention: fvcore multiply-adds of one clip, x1e-9."""
import hashlib
import json
from pathlib import Path

import fvcore
import torch
from fvcore.nn import FlopCountAnalysis
from torch import nn

import ctnet.model_spec
import ctnet.models
from ctnet.atomic import write_json_atomic
from ctnet.cache import number_problem, read_cache
from ctnet.models import build_model, count_parameters

# Besides the spec, the class count and the size, a count depends on the code that builds the model and counts it:
# a cached count made by other code is not reused.
_COUNTING_CODE = [Path(__file__), Path(ctnet.model_spec.__file__),
                  *sorted(Path(ctnet.models.__file__).parent.glob("*.py"))]


# Model settings that shape only the classifier or how training treats the model: models that differ only in these
# (and in their class count) have the same trunk, traced once per process (FlopsCounter).
_HEAD_SETTINGS = ("dropout", "dropout_on", "frozen_bn", "freeze_unreplaced")


def count_flops(model, frames, size, views=1):
    """``{"gflops", "params_m", "trainable_params_m"}`` for ``views`` clips of ``frames`` frames at ``size``.

    The paper counts one view of 256 x 256 (Tables 2, 3, 6, 7); multi-view rows multiply by ``views``
    (clips x crops). fvcore counts one multiply-add as one FLOP and includes BatchNorm; elementwise operations
    (ReLU, sigmoid, the additions) are not counted, as in the paper's numbers.
    """
    return _figures(model, trunk_flops(model, frames, size) + head_flops(model, frames, size), views)


def _figures(model, flops, views=1):
    return {
        "gflops": flops / 1e9 * views,
        "params_m": count_parameters(model) / 1e6,
        "trainable_params_m": count_parameters(model, trainable_only=True) / 1e6,
    }


def trunk_flops(model, frames, size):
    """fvcore's count of ``model.backbone`` on one clip, ``frames`` images of ``size`` x ``size``: the whole model's
    count but for its head."""
    return _traced_flops(model.backbone, torch.zeros(frames, 3, size, size))  # the (N*T, 3, H, W) it is given


def head_flops(model, frames, size):
    """fvcore's count of the model's forward on one clip with the trunk's work left out: the temporal consensus and
    the classifier, as the model's own forward does them."""
    backbone = model.backbone
    model.backbone = _Features(backbone.out_channels)
    try:
        return _traced_flops(model, torch.zeros(1, 3, frames, size, size))
    finally:
        model.backbone = backbone


class _Features(nn.Module):
    """Stands in for a trunk: features of the right shape, ``(N*T, F)``, from no counted work."""

    def __init__(self, out_channels):
        super().__init__()
        self.out_channels = out_channels

    def forward(self, x):
        return x.new_zeros(x.shape[0], self.out_channels)


def _traced_flops(module, inputs):
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            analysis = FlopCountAnalysis(module, inputs)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            return analysis.total()
    finally:
        module.train(was_training)


def count_digest(spec, num_classes, size):
    """Hex digest of everything a one-view count of ``spec`` depends on: the name of its cached count."""
    code = [hashlib.sha256(path.read_bytes()).hexdigest() for path in _COUNTING_CODE]
    key = {"spec": spec, "num_classes": num_classes, "size": size, "code": code,
           "fvcore": fvcore.__version__, "torch": torch.__version__}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


# The figures of a count, with number_problem's options for each: all above zero (the head always trains, so a
# frozen trunk still leaves trainable parameters), the frames whole.
_COUNT_FIGURES = {"gflops": {}, "params_m": {}, "trainable_params_m": {}, "frames": {"integer": True}}


def _count_problem(count):
    """What is wrong with a cached count (FlopsCounter), or None: it holds every figure of a count, and only those,
    each a finite number above zero."""
    if not isinstance(count, dict) or set(count) != set(_COUNT_FIGURES):
        return f"not a mapping of {', '.join(_COUNT_FIGURES)}"
    for key, checks in _COUNT_FIGURES.items():
        problem = number_problem(count[key], **checks)
        if problem:
            return f"{key} is {count[key]!r}, {problem}"
    return None


class FlopsCounter:
    """Counts models one after another (``count``), tracing each distinct trunk once: rows that differ only in the
    class count or the classifier's dropout (a Kinetics model and its UCF101 and HMDB51 fine-tunings) share it."""

    def __init__(self, cache_dir=None):
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._trunks = {}  # (trunk settings, frames, size) -> FLOPs

    def count(self, spec, num_classes, size):
        """One view of the model that ``spec`` describes, with ``num_classes`` outputs, at ``size``:
        ``count_flops``'s figures and ``frames``. Its weights do not change the count, so ``pretrained`` is ignored
        (the file need not exist). With a ``cache_dir`` the count is kept there under its ``count_digest``, and an
        unchanged model is neither built nor traced again; a cached count that is unreadable or not a valid count is
        counted again, with a warning naming the file, and rewritten. Raises ValueError for a bad spec."""
        spec = dict(spec, pretrained=None)
        cached = self.cache_dir / f"{count_digest(spec, num_classes, size)}.json" if self.cache_dir else None
        if cached is not None:
            result = read_cache(cached, _count_problem)
            if result is not None:
                return result
        model = build_model(spec, num_classes)
        frames = model.num_segments
        trunk = {key: value for key, value in model.spec.items() if key not in _HEAD_SETTINGS}
        key = (json.dumps(trunk, sort_keys=True), frames, size)
        if key not in self._trunks:
            self._trunks[key] = trunk_flops(model, frames, size)
        result = dict(_figures(model, self._trunks[key] + head_flops(model, frames, size)), frames=frames)
        if cached is not None:
            write_json_atomic(cached, result)
        return result
