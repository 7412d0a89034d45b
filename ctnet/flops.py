"""FLOPs and parameter counts at the paper's convention: fvcore multiply-adds of one clip, x1e-9."""
import torch
from fvcore.nn import FlopCountAnalysis

from ctnet.models import count_parameters


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
