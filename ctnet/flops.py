"""FLOPs and parameter counts at the paper's convention: fvcore multiply-adds of one clip, x1e-9."""
import hashlib
import json
from pathlib import Path

import fvcore
import torch
from fvcore.nn import FlopCountAnalysis

import ctnet.model_spec
import ctnet.models
from ctnet.atomic import write_json_atomic
from ctnet.models import build_model, count_parameters

# Besides the spec, the class count and the size, a count depends on the code that builds the model and counts it:
# a cached count made by other code is not reused.
_COUNTING_CODE = [Path(__file__), Path(ctnet.model_spec.__file__),
                  *sorted(Path(ctnet.models.__file__).parent.glob("*.py"))]


def count_flops(model, frames, size, views=1):
    """``{"gflops", "params_m", "trainable_params_m"}`` for ``views`` clips of ``frames`` frames at ``size``.

    The paper counts one view of 256 x 256 (Tables 2, 3, 6, 7); multi-view rows multiply by ``views``
    (clips x crops). fvcore counts one multiply-add as one FLOP and includes BatchNorm; elementwise operations
    (ReLU, sigmoid, the additions) are not counted, as in the paper's numbers.
    """
    was_training = model.training
    model.eval()
    clip = torch.zeros(1, 3, frames, size, size)
    try:
        with torch.no_grad():
            analysis = FlopCountAnalysis(model, clip)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            gflops = analysis.total() / 1e9
    finally:
        model.train(was_training)
    return {
        "gflops": gflops * views,
        "params_m": count_parameters(model) / 1e6,
        "trainable_params_m": count_parameters(model, trainable_only=True) / 1e6,
    }


def count_digest(spec, num_classes, size):
    """Hex digest of everything a one-view count of ``spec`` depends on: the name of its cached count."""
    code = [hashlib.sha256(path.read_bytes()).hexdigest() for path in _COUNTING_CODE]
    key = {"spec": spec, "num_classes": num_classes, "size": size, "code": code,
           "fvcore": fvcore.__version__, "torch": torch.__version__}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def count_model(spec, num_classes, size, cache_dir=None):
    """One view of the model that ``spec`` describes, with ``num_classes`` outputs, at ``size``: ``count_flops``'s
    figures and ``frames``. Its weights do not change the count, so ``pretrained`` is ignored (the file need not
    exist). With ``cache_dir`` the count is kept there under its ``count_digest``, and an unchanged model is
    neither built nor traced again. Raises ValueError for a bad spec."""
    spec = dict(spec, pretrained=None)
    cached = Path(cache_dir) / f"{count_digest(spec, num_classes, size)}.json" if cache_dir else None
    if cached is not None and cached.exists():
        return json.loads(cached.read_text())
    model = build_model(spec, num_classes)
    result = dict(count_flops(model, model.num_segments, size), frames=model.num_segments)
    if cached is not None:
        write_json_atomic(cached, result)
    return result
