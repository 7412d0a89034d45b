"""How many clips one GPU trains at once: the micro-batch and the accumulation steps of a training job, from the GPUs
it asks for and their memory (docs/cluster.md#fewer-gpus-than-the-paper).

`train.batch_size` stays the global batch of one optimiser step. Each of the job's `resources.train.gpu` GPUs
computes its share, batch_size / gpus clips, as micro-batches of the largest size that divides the share and fits:
at most `resources.train.micro_batch` clips (the official BatchNorm batch is 8) and at most what
`resources.train.gpu_memory_gb` holds, by the throughput file's peak memory of a training step (a fixed part
`train_gpu_mb_base` plus `train_gpu_mb_per_clip` for every clip) and GPU_RESERVE_MB. Torch-free: the plan uses it.
"""
import math

from ctnet.experiment import accumulation
from ctnet.workflow.io import ConfigError

# Memory of a GPU that a training process cannot give to its tensors: the CUDA context, cuDNN's workspaces and
# the caching allocator's fragmentation, none of which torch.cuda.max_memory_allocated counts.
GPU_RESERVE_MB = 1536


def largest_divisor(number, limit):
    """The largest divisor of `number` that is at most `limit` (>= 1)."""
    return max(d for d in range(1, min(number, limit) + 1) if number % d == 0)


def clips_that_fit(gpu_memory_gb, row, throughput_path, command):
    """Clips of one training step that a GPU of `gpu_memory_gb` GB holds, by the throughput `row`'s memory figures;
    one ConfigError line naming the numbers when not even one clip fits, or the file and the command that
    measures them when the row has none."""
    per_clip, base = row.get("train_gpu_mb_per_clip"), row.get("train_gpu_mb_base")
    if per_clip is None or base is None:
        raise ConfigError(f"{throughput_path}: model {row['model']} at {row['size']} px has no train_gpu_mb_per_clip "
                          f"and train_gpu_mb_base to plan resources.train.gpu_memory_gb with; measure them on a GPU "
                          f"with `{command}`, or leave gpu_memory_gb out")
    free = gpu_memory_gb * 1024 - GPU_RESERVE_MB - base
    fits = math.floor(free / per_clip)
    if fits < 1:
        raise ConfigError(f"{throughput_path}: one training clip of model {row['model']} at {row['size']} px needs "
                          f"{base:,.0f} + {per_clip:,.0f} MB (+ {GPU_RESERVE_MB} MB for CUDA), more than a GPU of "
                          f"resources.train.gpu_memory_gb {gpu_memory_gb:g} GB holds; use GPUs with more memory, "
                          "train.amp: bf16, or a smaller crop")
    return fits


def micro_batch_plan(batch_size, micro_batch, res, row, throughput_path, command, where):
    """{"per_gpu", "micro_batch", "accumulate", "planned"} of one training job: `micro_batch` when the experiment
    sets one, else the largest divisor of the per-GPU share within `res`'s micro_batch and gpu_memory_gb.
    `planned` is false where nothing limits the micro-batch (it is then the whole share, as an unset
    train.micro_batch trains). `res`: the training job's resources (gpus, micro_batch, gpu_memory_gb)."""
    gpus = max(1, res["gpus"])
    planned = micro_batch is None and (res["micro_batch"] is not None or res["gpu_memory_gb"] is not None)
    if planned:
        if batch_size % gpus:
            raise ConfigError(f"{where}: train.batch_size {batch_size} is not divisible by resources.train.gpu "
                              f"{gpus}; change either")
        limit = batch_size // gpus
        if res["micro_batch"] is not None:
            limit = min(limit, res["micro_batch"])
        if res["gpu_memory_gb"] is not None:
            limit = min(limit, clips_that_fit(res["gpu_memory_gb"], row, throughput_path, command))
        micro_batch = largest_divisor(batch_size // gpus, limit)
    try:
        micro_batch, accumulate = accumulation(batch_size, micro_batch, gpus, where)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return {"per_gpu": batch_size // gpus, "micro_batch": micro_batch, "accumulate": accumulate, "planned": planned}
