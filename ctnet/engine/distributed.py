"""Process-group set-up for `torchrun`, the re-launch of a single command on N devices, and the samplers."""

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

# torchrun forwards only these signals to its workers; SIGUSR1 is what SLURM sends before a time limit.
FORWARDED_SIGNALS = "SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1"


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self):
        return self.rank == 0

    @property
    def distributed(self):
        return self.world_size > 1


def resolve_device(name):
    """`auto` picks CUDA when present; `cuda` without a GPU is refused rather than silently run on CPU."""
    if name in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda but no CUDA device is visible; use --device cpu or run on a GPU node")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {name!r}")
    return name


def launched_by_torchrun():
    return "WORLD_SIZE" in os.environ


def torchrun_command(nproc, script, args):
    """The command that re-runs `script args` as `nproc` processes on this node."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            f"--signals-to-handle={FORWARDED_SIGNALS}", script, *args]


def init_distributed(device_name):
    """Join the process group that torchrun set up (NCCL on GPUs, gloo on CPU); single process otherwise."""
    kind = resolve_device(device_name)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if kind == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if kind == "cuda" else "gloo",
                                device_id=device if kind == "cuda" else None)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def cleanup_distributed():
    if dist.is_initialized():
        dist.destroy_process_group()


def any_rank(flag, ctx):
    """True on every rank when `flag` is true on at least one (so all ranks stop at the same step)."""
    if not ctx.distributed:
        return bool(flag)
    tensor = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item() > 0)


def sum_over_ranks(values, ctx):
    """Element-wise sum of a list of numbers over all ranks."""
    if not ctx.distributed:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor)
    return tensor.tolist()


class ResumableDistributedSampler(Sampler):
    """Shuffled, rank-sharded indices for one epoch that can start part-way through it.

    Like `DistributedSampler(drop_last=True)`: the permutation depends only on (seed, epoch), each rank takes
    every world_size-th index of it and all ranks get the same count. `set_epoch(epoch, start=k)` skips the
    first k indices of this rank's share, which is how a run interrupted mid-epoch continues where it stopped.

    Optimiser step s takes the permutation's s-th run of `batch_size` (the global batch) indices whatever the
    number of processes: rank r's share of it is every world_size-th index from r. With `accumulate` micro-batches
    per step, each step's share is reordered so that micro-batch a holds every accumulate-th index of the share
    from a: micro-batch a of rank r then holds exactly the clips that rank r + a x world_size would hold with
    world_size x accumulate processes and no accumulation, so BatchNorm normalises the same groups of clips
    (tests/test_engine_accumulation.py).
    """

    def __init__(self, dataset_size, num_replicas=1, rank=0, seed=0, shuffle=True, micro_batch=1, accumulate=1):
        if dataset_size < num_replicas:
            raise ValueError(f"{dataset_size} training videos cannot be shared among {num_replicas} processes")
        self.dataset_size = dataset_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.shuffle = shuffle
        self.per_rank = dataset_size // num_replicas
        self.micro_batch = micro_batch
        self.accumulate = accumulate
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch, start=0):
        self.epoch = epoch
        self.start = start

    def __iter__(self):
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.dataset_size, generator=generator).tolist()
        else:
            order = list(range(self.dataset_size))
        mine = order[self.rank:self.per_rank * self.num_replicas:self.num_replicas]
        return iter(interleave(mine, self.micro_batch * self.accumulate, self.accumulate)[self.start:])

    def __len__(self):
        return self.per_rank - self.start


def interleave(indices, share, accumulate):
    """`indices` with each whole run of `share` reordered as its every accumulate-th item from 0, then from 1, ...;
    a last, incomplete run (which no optimiser step reaches) as it is. With accumulate 1: `indices` itself."""
    if accumulate == 1:
        return indices
    whole = len(indices) - len(indices) % share
    return [index for start in range(0, whole, share) for first in range(accumulate)
            for index in indices[start + first:start + share:accumulate]] + indices[whole:]


def shard_indices(size, ctx):
    """This rank's share of `range(size)` for evaluation: strided, no padding, so every item counts once."""
    return list(range(ctx.rank, size, ctx.world_size))


def steps_per_epoch(dataset_size, batch_size, world_size):
    """Optimiser steps in one epoch when each rank drops its last incomplete batch."""
    per_rank = dataset_size // world_size
    steps = per_rank // batch_size
    if steps == 0:
        raise ValueError(f"{dataset_size} training videos give no full batch of {batch_size} per process; "
                         "lower train.batch_size")
    return steps
