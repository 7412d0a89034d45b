"""Training, multi-view testing and score fusion (scripts/train.py, scripts/test.py, scripts/fuse.py)."""

import importlib

# Where each public name lives. Imported on first use: score files and metrics are numpy only, and fusing scores
# or reading them for a table must not pay for importing torch (seconds per process).
_HOMES = {
    "train": "api", "test": "api", "Trainer": "trainer", "TrainingInterrupted": "trainer",
    "NonFiniteLossError": "trainer", "classification_metrics": "metrics", "fuse": "scores", "fuse_scores": "scores",
    "ScoresError": "scores", "load_scores": "scores", "save_scores": "scores",
    "ExperimentError": "ctnet.experiment", "load_experiment": "ctnet.experiment", "resolve_experiment": "ctnet.experiment",
}
__all__ = list(_HOMES)


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = _HOMES[name]
    module = importlib.import_module(home if home.startswith("ctnet.") else f"{__name__}.{home}")
    return getattr(module, name)
