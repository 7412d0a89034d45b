#!/usr/bin/env python
"""Import official weights: scripts/import_official.py CHECKPOINT --experiment E.yaml --out FILE.

Converts a checkpoint saved by the official CT-Net code (github.com/Andy1621/CT-Net, main.py's save_checkpoint)
into a ctnet checkpoint for the experiment's model, which scripts/test.py --checkpoint FILE then tests. The
official file is read with torch.load(weights_only=True) (numpy floats allowed), so a crafted file runs no code.
The class count comes from the experiment's classes file; if that file does not exist yet, from the official
classifier, with classes stored as null (scripts/test.py checks the count against the classes file it reads).
"""

import argparse
import sys
from pathlib import Path

import torch

from ctnet.data.dataset import read_classes
from ctnet.engine.checkpoint import save_checkpoint
from ctnet.experiment import load_experiment
from ctnet.models import build_model
from ctnet.models.official import ctnet_name, load_official, official_to_ctnet


def read_official(path):
    """The official file's state dict and epoch; every failure as a one-line error naming the file."""
    checkpoint = load_official(path)
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: no 'state_dict' of tensors; pass a checkpoint saved by the official main.py")
    return state, checkpoint.get("epoch")


def official_num_classes(state, path):
    """Rows of the official classifier (new_fc, or the ResNet's fc when the run had no dropout)."""
    weights = [tensor for name, tensor in state.items() if ctnet_name(name) == "fc.weight"]
    if len(weights) != 1 or weights[0].dim() != 2:
        raise ValueError(f"{path}: no classifier weight (module.new_fc.weight) in the official state_dict")
    return weights[0].shape[0]


def import_official(checkpoint, experiment, out):
    """Convert ``checkpoint`` for ``experiment``'s model and save it at ``out``; returns the class count."""
    exp = load_experiment(experiment)
    state, epoch = read_official(checkpoint)
    classes_file = Path(exp["data"]["classes"])
    classes = read_classes(classes_file) if classes_file.exists() else None
    num_classes = len(classes) if classes else official_num_classes(state, checkpoint)
    # The official weights replace every tensor: no ImageNet weights to read first.
    model = build_model({**exp["model"], "pretrained": None}, num_classes)
    model.load_state_dict(official_to_ctnet(state, model), strict=True)
    save_checkpoint(out, {"model": model.state_dict(), "spec": exp["model"], "num_classes": num_classes,
                          "classes": classes, "epoch": epoch, "imported_from": str(checkpoint)})
    return num_classes


def main(argv=None):
    parser = argparse.ArgumentParser(prog="import_official.py", description=__doc__.splitlines()[1])
    parser.add_argument("checkpoint", help="checkpoint of the official code (e.g. ckpt.best.pth.tar)")
    parser.add_argument("--experiment", required=True, help="experiment YAML whose model the weights fit")
    parser.add_argument("--out", required=True, help="ctnet checkpoint to write (.pt)")
    args = parser.parse_args(argv)
    try:
        num_classes = import_official(args.checkpoint, args.experiment, args.out)
    except (ValueError, OSError) as err:
        print(f"{parser.prog}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(f"{args.out}: official weights of {args.checkpoint} ({num_classes} classes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
