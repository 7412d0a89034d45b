"""The training loop: DDP, gradient accumulation, mixed precision, warm-up + cosine schedule, exact resume and
signal-safe exit.

One `Trainer` runs one resolved experiment in one process; under `torchrun` every process runs one. Checkpoints
(`<ckpt_dir>/last.pt`) are written at the end of every epoch and when SIGTERM/SIGUSR1 arrives (then at the next
step boundary, mid-epoch); a restarted run continues from the checkpoint's epoch and step. A step is one
optimiser step: with `train.micro_batch` smaller than a process's share of the batch, the gradients of
`accumulate` micro-batches make one step, and a signal arriving among them is acted on after the step, so a
checkpoint never holds part of an accumulation. With
`data.workers: 0` on CPU the continuation is bit-exact; with workers, a resume at an epoch boundary is exact and
one mid-epoch redraws the rest of that epoch's augmentations.

A checkpoint is resumed only by a run with the same settings (its digest, `training_settings`). One of other
settings is kept aside as `last.<digest>.pt`, never deleted, and the run starts over; a run whose settings match
a checkpoint kept aside takes it back. A checkpoint at the last epoch is a finished training: its run writes
`final.pt` and `metrics.csv` again without training, so weights that Snakemake removed (a failed or unrecorded
job) come back in seconds.

`final.pt` holds the last epoch's weights (`train.select: last`) or, with `select: best`, those of the epoch with the
highest val_top1, kept in `<ckpt_dir>/best.pt` while training (the best epoch and its val_top1 travel in `last.pt`).
"""

import contextlib
import csv
import io
import itertools
import logging
import math
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ctnet import data, models
from ctnet.atomic import write_text_atomic
from ctnet.data.dataset import read_classes
from ctnet.experiment import DATA_DEFAULTS, accumulation
from ctnet.progress import progress_bar

from .checkpoint import (LAST_CHECKPOINT, load_checkpoint, load_finetune_weights, rng_state, save_checkpoint,
                         set_rng_state, settings_changes, settings_digest, training_settings)
from .distributed import (ResumableDistributedSampler, any_rank, shard_indices, steps_per_epoch,
                          sum_over_ranks)
from .evaluator import autocast_context, evaluate_dataset
from .metrics import metric_counts, metrics_from_counts
from .schedule import WarmupCosine, scaled_lr

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
METRIC_COLUMNS = ("epoch", "lr", "train_loss", "train_top1", "val_top1", "val_top5", "val_mean_class_acc",
                  "seconds")
BEST_CHECKPOINT = "best.pt"


class TrainingInterrupted(Exception):
    """Raised after the checkpoint is saved because SIGTERM/SIGUSR1 arrived; `exit_code` is 128 + signal."""

    def __init__(self, signum, checkpoint):
        super().__init__(f"stopped by {signal.Signals(signum).name}; checkpoint saved to {checkpoint}")
        self.exit_code = 128 + signum


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the last good checkpoint is left untouched."""


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def worker_generator(seed, epoch, rank):
    """The DataLoader's generator: its first draw seeds the workers, so it must depend only on (seed, epoch, rank)."""
    state = np.random.SeedSequence([seed, epoch, rank]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def parameter_groups(model, weight_decay, head_lr_scale=None, lr=None):
    """Weight decay on weight matrices and kernels only; biases and normalisation parameters are not decayed.

    Decaying BatchNorm scales pulls them towards zero without regularising anything (Goyal et al., 2017).
    Frozen parameters (`freeze_unreplaced`) are left out of the optimiser.

    `head_lr_scale` ({"weight": w, "bias": b}, `train.head_lr_scale`): unless both are 1, the classifier's weight
    (decayed) and bias (not decayed) get groups of their own with learning rates `w * lr` and `b * lr` (the
    official code's fc_lr5: 5 and 10); the scheduler multiplies every group's rate alike, so the ratios stay.
    """
    scale = head_lr_scale or {"weight": 1.0, "bias": 1.0}
    head = {}
    if scale["weight"] != 1 or scale["bias"] != 1:
        layer = getattr(model, "head", None)
        if not isinstance(layer, torch.nn.Linear) or lr is None:
            raise ValueError("train.head_lr_scale needs a model whose classifier is its `head` (a VideoClassifier) "
                             "and the peak learning rate")
        head = {id(param): kind for kind, param in (("weight", layer.weight), ("bias", layer.bias))
                if param is not None and param.requires_grad}
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad and id(param) not in head:
            (decay if param.ndim > 1 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    for param in model.parameters():
        if id(param) in head:
            kind = head[id(param)]
            groups.append({"params": [param], "lr": lr * scale[kind],
                           "weight_decay": weight_decay if kind == "weight" else 0.0})
    return groups


def build_optimizer(groups, cfg, lr):
    """AdamW or SGD with momentum (`train.optimizer`) over parameter `groups`, updating all tensors at once."""
    # torch steps CPU parameters one tensor at a time unless foreach is asked for: the multi-tensor update gives
    # bit-identical weights at about 60 % of the time (16 -> 10 ms a step for the CPU-scale CT-Net).
    if cfg["optimizer"] == "adamw":
        return torch.optim.AdamW(groups, lr=lr, foreach=True)
    return torch.optim.SGD(groups, lr=lr, momentum=cfg["momentum"], foreach=True)


class Trainer:
    """Trains `exp` (a resolved experiment dict) and writes `out_dir/final.pt`, metrics, logs and checkpoints."""

    def __init__(self, exp, out_dir, ctx, ckpt_dir=None, build_model=models.build_model,
                 build_dataset=data.build_dataset, seed_worker=data.seed_worker):
        self.exp = exp
        self.cfg = exp["train"]
        self.ctx = ctx
        self.out_dir = Path(out_dir)
        self.ckpt_path = Path(ckpt_dir or self.out_dir / "checkpoints") / LAST_CHECKPOINT
        self.best_path = self.ckpt_path.with_name(BEST_CHECKPOINT)
        self.select_best = self.cfg["select"] == "best"
        self.build_dataset = build_dataset
        self.seed_worker = seed_worker
        self.on_cuda = ctx.device.type == "cuda"
        self.amp = self.cfg["amp"] if self.on_cuda else None
        self.stop_signal = None

        self.micro_batch, self.accumulate = accumulation(self.cfg["batch_size"], self.cfg["micro_batch"],
                                                         ctx.world_size, exp["name"])
        self.batch_per_rank = self.cfg["batch_size"] // ctx.world_size
        if self.cfg["deterministic"]:
            # cuBLAS is only deterministic with a fixed workspace, which must be set before its first use.
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            # Deterministic mode also fills every new tensor with NaN, a debugging aid that costs about 5 % of a
            # CPU-scale training step and changes no weight (tests/test_engine_train.py).
            torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.benchmark = self.on_cuda and not self.cfg["deterministic"]

        self.classes = read_classes(exp["data"]["classes"])
        # The same seed on every rank builds the same initial weights; DDP also broadcasts rank 0's.
        seed_everything(exp["seed"])
        model = build_model(exp["model"], len(self.classes))
        init_digest = None
        if self.cfg["init_from"]:
            fresh, init_digest = load_finetune_weights(model, self.cfg["init_from"])
            logger.info("initialised from %s; trained afresh: %s", self.cfg["init_from"], ", ".join(fresh) or "none")
        self.settings = training_settings(exp, init_digest)
        self.digest = settings_digest(self.settings)
        model = model.to(ctx.device)
        if self.on_cuda and self.cfg["channels_last"]:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.ddp = (DistributedDataParallel(model, device_ids=[ctx.local_rank] if self.on_cuda else None)
                    if ctx.distributed else model)
        # Augmentation streams differ between ranks.
        seed_everything(exp["seed"] + ctx.rank)

        self.dataset = build_dataset(exp["data"], "train")
        self.sampler = ResumableDistributedSampler(len(self.dataset), ctx.world_size, ctx.rank, seed=exp["seed"],
                                                   micro_batch=self.micro_batch, accumulate=self.accumulate)
        self.steps_per_epoch = steps_per_epoch(len(self.dataset), self.batch_per_rank, ctx.world_size)
        self.peak_lr = scaled_lr(self.cfg["lr"], self.cfg["batch_size"], self.cfg["base_batch"])
        groups = parameter_groups(model, self.cfg["weight_decay"], self.cfg["head_lr_scale"], self.peak_lr)
        self.optimizer = build_optimizer(groups, self.cfg, self.peak_lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, WarmupCosine(self.cfg["epochs"] * self.steps_per_epoch,
                                         self.cfg["warmup_epochs"] * self.steps_per_epoch))
        # Loss scaling is needed for fp16 only; bf16 has float32's exponent range.
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == "fp16")

        self.epoch = 0          # completed epochs
        self.step_in_epoch = 0  # completed steps of the current epoch (non-zero only after a mid-epoch stop)
        self.epoch_sums = [0.0, 0.0, 0.0]  # loss sum, correct, samples of the current epoch on this rank
        self.epoch_seconds = 0.0
        # Finished epochs' metrics travel in the checkpoint: Snakemake deletes a failed job's metrics.csv.
        self.metrics_rows = []
        self.best = None  # select: best: {"epoch", "val_top1"} of the best validated epoch so far

    # ----------------------------------------------------------------------------------------------- state
    def state_dict(self, per_rank):
        """Everything to continue the run; `per_rank` holds each rank's RNG states and epoch sums, in rank order."""
        state = {
            "experiment": self.exp["name"],
            "digest": self.digest,
            "settings": self.settings,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "epoch_seconds": self.epoch_seconds,
            "world_size": self.ctx.world_size,
            "per_rank": per_rank,
            "metrics": self.metrics_rows,
        }
        if self.select_best:
            state["best"] = self.best
        return state

    def save(self):
        """Rank 0 writes the checkpoint; the others wait so no rank runs ahead of a checkpoint it relies on."""
        mine = {"rng": rng_state(), "epoch_sums": self.epoch_sums}
        if self.ctx.distributed:
            per_rank = [None] * self.ctx.world_size if self.ctx.is_main else None
            torch.distributed.gather_object(mine, per_rank, dst=0)
        else:
            per_rank = [mine]
        if self.ctx.is_main:
            save_checkpoint(self.ckpt_path, self.state_dict(per_rank))
        if self.ctx.distributed:
            torch.distributed.barrier()

    def save_best(self, weights):
        """Rank 0 writes `best.pt`: the weights of the best epoch so far (`self.best`), with this run's digest."""
        save_checkpoint(self.best_path, {"experiment": self.exp["name"], "digest": self.digest,
                                         "settings": self.settings, "model": weights, **self.best})

    def read_best(self):
        """`best.pt` if it holds this run's recorded best epoch, else None."""
        if self.best is None or not self.best_path.exists():
            return None
        state = load_checkpoint(self.best_path, map_location="cpu")
        if state.get("digest") != self.digest or state.get("epoch") != self.best["epoch"]:
            return None
        return state

    def check_best(self, state):
        """`best.pt` must hold the best epoch that `last.pt` records. A stop between writing the two (last.pt
        first) leaves the best epoch as the checkpoint's own, at an epoch boundary: then best.pt is written from it."""
        if self.best is None or self.read_best() is not None:
            return
        if self.best["epoch"] == state["epoch"] and not state["step_in_epoch"]:
            self.save_best(state["model"])
            logger.info("wrote %s from %s (best epoch %d)", self.best_path, self.ckpt_path, self.best["epoch"])
            return
        raise RuntimeError(f"{self.best_path}: missing or not the weights of the best epoch {self.best['epoch']} "
                           f"that {self.ckpt_path} records (train.select: best); delete {self.ckpt_path} to train "
                           "this run again")

    def select_checkpoint(self, path):
        """Make `path` (last.pt, or best.pt) the file of this run's settings, or absent: one of other settings is
        moved to `kept_path(path, its digest)`, one of these settings kept aside earlier is moved back. Rank 0."""
        if path.exists():
            state = load_checkpoint(path, map_location="cpu")
            if state.get("experiment") != self.exp["name"]:
                raise ValueError(f"{path}: checkpoint of experiment {state.get('experiment')!r}, not "
                                 f"{self.exp['name']!r}; use another --ckpt-dir")
            if state.get("digest") == self.digest:
                return
            aside = kept_path(path, state.get("digest") or "unrecorded")
            os.replace(path, aside)
            logger.warning("%s was saved with other settings (%s); kept as %s, and this run starts over "
                           "(delete it once it is not needed)", path, settings_changes(state.get("settings"),
                                                                                       self.settings), aside)
        kept = kept_path(path, self.digest)
        if kept.exists():
            os.replace(kept, path)
            logger.info("took back %s, the checkpoint of these settings kept from an earlier run", kept)

    def resume(self):
        if self.ctx.is_main:
            self.select_checkpoint(self.ckpt_path)
            if self.select_best:
                self.select_checkpoint(self.best_path)
        if self.ctx.distributed:
            torch.distributed.barrier()
        if not self.ckpt_path.exists():
            return False
        # On the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest to the model's device.
        state = load_checkpoint(self.ckpt_path, map_location="cpu")
        if state["world_size"] != self.ctx.world_size and state["step_in_epoch"]:
            raise ValueError(f"{self.ckpt_path}: saved mid-epoch with {state['world_size']} processes; "
                             f"restart with --gpus {state['world_size']}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch = state["epoch"]
        self.step_in_epoch = state["step_in_epoch"]
        self.epoch_seconds = state["epoch_seconds"]
        self.metrics_rows = state["metrics"]
        if self.select_best:
            self.best = state.get("best")
            if self.ctx.is_main:
                self.check_best(state)
        if state["world_size"] == self.ctx.world_size:
            mine = state["per_rank"][self.ctx.rank]
            set_rng_state(mine["rng"])
            self.epoch_sums = mine["epoch_sums"]
        else:
            # Restarted at an epoch boundary on another number of processes: fresh, distinct streams per rank.
            seed_everything(self.exp["seed"] + self.ctx.rank + 1000 * self.epoch)
        logger.info("resumed from %s at epoch %d", self.ckpt_path, self.epoch)
        if self.step_in_epoch:
            logger.info("continuing epoch %d at step %d of %d", self.epoch + 1, self.step_in_epoch,
                        self.steps_per_epoch)
        return True

    # ------------------------------------------------------------------------------------------- signals
    def _on_signal(self, signum, _frame):
        self.stop_signal = signum

    def _stop_requested(self):
        return any_rank(self.stop_signal is not None, self.ctx)

    def _interrupt(self):
        """Save at this step boundary and leave with 128 + signal (every rank agreed to stop here)."""
        signum = self.stop_signal or signal.SIGTERM
        self.save()
        logger.info("received %s: checkpoint saved to %s at epoch %d step %d", signal.Signals(signum).name,
                    self.ckpt_path, self.epoch, self.step_in_epoch)
        raise TrainingInterrupted(signum, self.ckpt_path)

    # -------------------------------------------------------------------------------------------- epochs
    def train_step(self, micro_batches):
        """One optimiser step over this rank's `accumulate` micro-batches ((clips, labels) pairs); returns the sum of
        their losses, their correct top-1 predictions and their clips.

        Each micro-batch's mean loss is divided by `accumulate` and the gradients add up, DDP averaging them over
        the ranks on the last micro-batch only (`no_sync` before): the update is that of the mean loss over the
        global batch, clipped on that whole gradient. BatchNorm normalises each micro-batch on its own, as each
        GPU's does in the official training (no SyncBN).
        """
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum = correct = count = 0
        for index, (clips, labels) in enumerate(micro_batches):
            clips = clips.to(self.ctx.device, non_blocking=True)
            labels = labels.to(self.ctx.device, non_blocking=True)
            last = index + 1 == self.accumulate
            with contextlib.nullcontext() if last or not self.ctx.distributed else self.ddp.no_sync():
                with autocast_context(self.ctx.device, self.amp):
                    logits = self.ddp(clips)  # (B, num_classes)
                # at least float32: autocast's bf16/fp16 logits are widened, float64 ones (tests) kept
                loss = F.cross_entropy(logits.to(torch.promote_types(logits.dtype, torch.float32)), labels)
                self.scaler.scale(loss / self.accumulate).backward()
            # float64, as a Python float would hold it: the sum is read once per step (one device sync)
            loss_sum = loss_sum + loss.detach().double() * len(labels)
            correct = correct + (logits.detach().argmax(dim=1) == labels).sum()
            count += len(labels)
        loss_sum = loss_sum.item()
        if any_rank(not math.isfinite(loss_sum), self.ctx):
            # Name what is there: before the first save, or after a checkpoint of other settings was kept
            # aside, no checkpoint of these settings exists. No step is taken: the weights stay good.
            kept = (f"the last good checkpoint {self.ckpt_path} is kept" if self.ckpt_path.exists() else
                    f"no checkpoint of these settings exists ({self.ckpt_path}), so a rerun starts over")
            raise NonFiniteLossError(
                f"{self.exp['name']}: non-finite loss at epoch {self.epoch + 1} step {self.step_in_epoch + 1}; "
                f"{kept}. Lower train.lr or check the data")
        if self.cfg["clip_grad_norm"]:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg["clip_grad_norm"])
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return loss_sum, correct.item(), count

    def train_epoch(self):
        self.model.train()
        self.sampler.set_epoch(self.epoch, start=self.step_in_epoch * self.batch_per_rank)
        loader = DataLoader(self.dataset, batch_size=self.micro_batch, sampler=self.sampler,
                            num_workers=self.exp["data"]["workers"], worker_init_fn=self.seed_worker,
                            generator=worker_generator(self.exp["seed"], self.epoch, self.ctx.rank),
                            pin_memory=self.on_cuda, drop_last=True)
        progress = progress_bar(optimiser_steps(loader, self.accumulate, self.steps_per_epoch - self.step_in_epoch),
                                desc=f"epoch {self.epoch + 1}/{self.cfg['epochs']}", unit="step",
                                initial=self.step_in_epoch, total=self.steps_per_epoch, disable=not self.ctx.is_main,
                                dynamic_ncols=True)
        started = time.monotonic()
        for micro_batches in progress:
            loss_sum, correct, count = self.train_step(micro_batches)
            self.step_in_epoch += 1
            self.epoch_sums = [self.epoch_sums[0] + loss_sum, self.epoch_sums[1] + correct,
                               self.epoch_sums[2] + count]
            progress.set_postfix(loss=f"{loss_sum / count:.3f}", lr=f"{self.optimizer.param_groups[0]['lr']:.2e}",
                                 refresh=False)
            if self._stop_requested():
                self.epoch_seconds += time.monotonic() - started
                self._interrupt()
        self.epoch_seconds += time.monotonic() - started
        loss_sum, correct, count = sum_over_ranks(self.epoch_sums, self.ctx)
        return {"train_loss": loss_sum / count, "train_top1": 100.0 * correct / count}

    def validate(self):
        """Top-1/top-5/mean class accuracy on the val list, one centre view at training size, shared by rank."""
        data_cfg = self.exp["data"]
        protocol = {"clips": 1, "clip_sampling": "center", "crops": 1, "size": data_cfg.get("train_size", DATA_DEFAULTS["train_size"]),
                    "average": "scores", "views_per_batch": self.micro_batch}
        dataset = self.build_dataset(data_cfg, "val", protocol=protocol)
        indices, scores = evaluate_dataset(self.model, dataset, protocol, self.ctx.device, amp=self.amp,
                                           workers=data_cfg["workers"],
                                           indices=shard_indices(len(dataset), self.ctx), show_progress=False)
        labels = np.asarray(dataset.labels)[indices]
        num_classes = scores.shape[1]
        # Counts add up over the ranks' disjoint shares; the metrics are those of the whole val list.
        counts = sum_over_ranks(metric_counts(scores, labels, num_classes), self.ctx)
        metrics = metrics_from_counts(counts, num_classes)
        return {"val_top1": metrics["top1"], "val_top5": metrics["top5"],
                "val_mean_class_acc": metrics["mean_class_acc"]}

    # ----------------------------------------------------------------------------------------------- run
    def run(self):
        """Train to the last epoch (resuming if a checkpoint exists); return the path of `final.pt`."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self):
        cfg = self.cfg
        self.resume()
        writer = None
        if self.ctx.is_main:
            from torch.utils.tensorboard import SummaryWriter
            # purge_step drops events of epochs that a resumed run will redo.
            writer = SummaryWriter(self.out_dir / "tb", purge_step=self.epoch + 1 if self.epoch else None)
            accumulated = (f" in {self.accumulate} accumulated micro-batches of {self.micro_batch}"
                           if self.accumulate > 1 else "")
            logger.info("%s: %d training videos, %d steps/epoch, %d process(es), batch %d per process%s, peak lr %g",
                        self.exp["name"], len(self.dataset), self.steps_per_epoch, self.ctx.world_size,
                        self.batch_per_rank, accumulated, self.peak_lr)
        try:
            while self.epoch < cfg["epochs"]:
                lr = self.optimizer.param_groups[0]["lr"]
                row = {"epoch": self.epoch + 1, "lr": lr, **self.train_epoch()}
                if cfg["eval_every"] and (self.epoch + 1) % cfg["eval_every"] == 0:
                    row.update(self.validate())
                # Every rank holds the same val_top1 (summed over ranks), so all agree on the best epoch.
                new_best = self.select_best and (self.best is None or row["val_top1"] > self.best["val_top1"])
                if new_best:
                    self.best = {"epoch": self.epoch + 1, "val_top1": row["val_top1"]}
                row["seconds"] = self.epoch_seconds
                self.epoch += 1
                self.step_in_epoch = 0
                self.epoch_sums = [0.0, 0.0, 0.0]
                self.epoch_seconds = 0.0
                self.metrics_rows.append(row)
                self.save()
                if self.ctx.is_main:
                    if new_best:  # after last.pt, which records it: see check_best
                        self.save_best(self.model.state_dict())
                    write_metrics(self.out_dir / "metrics.csv", self.metrics_rows)
                    for key, value in row.items():
                        if key != "epoch":
                            writer.add_scalar(key, value, self.epoch)
                    writer.flush()
                    logger.info("epoch %d/%d: %s; checkpoint saved to %s", self.epoch, cfg["epochs"],
                                ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"),
                                self.ckpt_path)
                if self._stop_requested():
                    self._interrupt()
        finally:
            if writer is not None:
                writer.close()
        final = self.out_dir / "final.pt"
        if self.ctx.is_main:
            # Written after the loop too: a run resumed at its last epoch (a finished training that Snakemake
            # did not record, or whose outputs it removed) trains no epoch but owes both files.
            write_metrics(self.out_dir / "metrics.csv", self.metrics_rows)
            weights, selected = self.model.state_dict(), {"rule": "last", "epoch": self.epoch}
            if self.select_best:
                best = self.read_best()
                if best is None:
                    raise RuntimeError(f"{self.best_path}: missing or not the weights of the best epoch "
                                       f"{(self.best or {}).get('epoch')}; delete {self.ckpt_path} to train this "
                                       "run again")
                weights = best["model"]
                selected = {"rule": "best", "epoch": best["epoch"], "val_top1": best["val_top1"]}
            save_checkpoint(final, {"model": weights, "spec": self.exp["model"],
                                    "num_classes": len(self.classes), "classes": self.classes,
                                    "epoch": self.epoch, "selected": selected, "digest": self.digest,
                                    "settings": self.settings})
            logger.info("final weights (%s) saved to %s",
                        ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                                  for key, value in selected.items()), final)
        return final


def optimiser_steps(loader, accumulate, steps):
    """The `loader`'s micro-batches in `steps` groups of `accumulate`, one group per optimiser step, each read
    lazily (a step holds one micro-batch at a time); micro-batches short of a whole group are left unread."""
    micro_batches = iter(loader)
    for _ in range(steps):
        yield itertools.islice(micro_batches, accumulate)


def kept_path(path, digest):
    """Where a checkpoint file of the settings with `digest` waits while other settings train."""
    return path.with_name(f"{path.stem}.{digest}{path.suffix}")


def write_metrics(path, rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())
