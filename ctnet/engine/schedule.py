"""Learning-rate schedule of the paper (appendix A.1): linear warm-up, then cosine decay to zero.

The schedule is evaluated per iteration so that warm-up is smooth even with few, long epochs.
"""

import math


def scaled_lr(lr, global_batch, base_batch):
    """Linear scaling rule (Goyal et al., 2017): `lr` is the rate for `base_batch` samples per step."""
    return lr * global_batch / base_batch


def lr_factor(step, total_steps, warmup_steps):
    """Multiplier of the peak learning rate at optimiser step `step` (0-based).

    Warm-up rises linearly to 1 at the end of warm-up (its first step is already 1/warmup_steps so that no step
    is wasted at lr 0); the cosine part then falls from 1 towards 0 at `total_steps`.
    """
    warmup_steps = min(warmup_steps, total_steps)
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """Callable for `torch.optim.lr_scheduler.LambdaLR`; a plain object so the scheduler's state pickles."""

    def __init__(self, total_steps, warmup_steps):
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        return lr_factor(step, self.total_steps, self.warmup_steps)
