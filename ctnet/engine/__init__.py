"""Training, multi-view testing and score fusion (scripts/train.py, scripts/test.py, scripts/fuse.py)."""

from ctnet.experiment import ExperimentError, load_experiment, resolve_experiment

from .api import fuse, test, train
from .metrics import classification_metrics
from .scores import ScoresError, fuse_scores, load_scores, save_scores
from .trainer import NonFiniteLossError, Trainer, TrainingInterrupted

__all__ = ["train", "test", "fuse", "Trainer", "TrainingInterrupted", "NonFiniteLossError", "ExperimentError",
           "ScoresError", "load_experiment", "resolve_experiment", "classification_metrics", "fuse_scores",
           "load_scores", "save_scores"]
