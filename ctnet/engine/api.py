"""Two engine commands as functions: `train` and `test` (scripts/train.py and test.py are their command lines; the
third, `fuse`, lives with the scores files in scores.py, torch-free)."""

import logging
from pathlib import Path

import torch

from ctnet.data import build_dataset
from ctnet.data.dataset import read_classes
from ctnet.experiment import ExperimentError, load_experiment
from ctnet.models import build_model

from .checkpoint import trained_state
from .distributed import cleanup_distributed, init_distributed, resolve_device
from .evaluator import evaluate_dataset
from .logs import setup_logging
from .scores import save_scores
from .trainer import Trainer

logger = logging.getLogger(__name__)


def train(experiment, out_dir, ckpt_dir=None, device="auto"):
    """Train the experiment YAML `experiment` into `out_dir` (under torchrun: this process's share)."""
    exp = load_experiment(experiment)
    ctx = init_distributed(device)
    out_dir = Path(out_dir)
    setup_logging(out_dir / "train.log", is_main=ctx.is_main)
    try:
        return Trainer(exp, out_dir, ctx, ckpt_dir=ckpt_dir).run()
    finally:
        cleanup_distributed()


def load_weights(model, checkpoint, num_classes):
    """Load `final.pt` or a training checkpoint (`last.pt`) into `model`, checking the class count first."""
    state = trained_state(checkpoint)
    if state.get("num_classes", num_classes) != num_classes:
        raise ValueError(f"{checkpoint}: trained for {state['num_classes']} classes but the experiment's classes "
                         f"file lists {num_classes}; test with the experiment it was trained with")
    model.load_state_dict(state["model"])


def test(experiment, checkpoint, protocol, out, device="auto"):
    """Multi-view test of `checkpoint` under the experiment's protocol `protocol`; writes `out` (.npz) and .json."""
    setup_logging()
    exp = load_experiment(experiment)
    if protocol not in exp["protocols"]:
        raise ExperimentError(f"{experiment}: no protocol {protocol!r}; it defines {sorted(exp['protocols'])}")
    spec = exp["protocols"][protocol]
    device = torch.device(resolve_device(device))
    on_cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = on_cuda

    classes = read_classes(exp["data"]["classes"])
    model = build_model(exp["model"], len(classes))
    load_weights(model, checkpoint, len(classes))
    model = model.to(device)
    if on_cuda and exp["train"]["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    dataset = build_dataset(exp["data"], "val", protocol=spec)
    indices, scores = evaluate_dataset(model, dataset, spec, device, amp=exp["train"]["amp"] if on_cuda else None,
                                       workers=exp["data"]["workers"])
    metrics = save_scores(out, [dataset.video_ids[i] for i in indices], [dataset.labels[i] for i in indices],
                          scores, dataset.classes, protocol=protocol, experiment=exp["name"])
    logger.info("%s %s: top1 %.2f top5 %.2f mean class %.2f over %d videos; scores saved to %s", exp["name"],
                protocol, metrics["top1"], metrics["top5"], metrics["mean_class_acc"], metrics["num_videos"], out)
    return metrics
