"""Training checkpoints: written atomically, holding everything a restarted run needs to continue exactly."""

import random
from pathlib import Path

import numpy as np
import torch

from ctnet.atomic import atomic_path

LAST_CHECKPOINT = "last.pt"


def rng_state():
    """The state of every random generator the training loop draws from in this process."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path, state):
    """torch.save `state` to `path` through a temporary file, so a kill mid-write keeps the previous checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path, map_location="cpu"):
    """Load a checkpoint written by `save_checkpoint` (it holds RNG states and numpy arrays, hence not weights_only)."""
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: checkpoint not found; check --checkpoint / --ckpt-dir") from None
    except (RuntimeError, EOFError) as err:
        raise RuntimeError(f"{path}: unreadable checkpoint ({err}); delete it to train this run from scratch") from None


def trained_state(path):
    """The saved training state in `path` (a final.pt or last.pt), checked to hold a model's weights."""
    state = load_checkpoint(path)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path}: not a ctnet checkpoint (no 'model' entry); pass final.pt of a training run")
    return state


def load_finetune_weights(model, path):
    """Initialise `model` from the trained weights in `path` (a ctnet final.pt or checkpoint) for fine-tuning.

    Tensors whose shape differs, the classifier of another dataset's class count, keep their fresh
    initialisation; any other mismatch (another architecture) is an error. Returns the names kept fresh.
    """
    own = model.state_dict()
    source = trained_state(path)["model"]
    missing = sorted(set(own) - set(source))
    unexpected = sorted(set(source) - set(own))
    if missing or unexpected:
        raise ValueError(f"{path}: weights of another architecture (missing {missing[:3]}, unexpected "
                         f"{unexpected[:3]}); train.init_from must name a model with the same spec")
    fresh = [name for name, tensor in source.items() if tensor.shape != own[name].shape]
    model.load_state_dict({name: tensor for name, tensor in source.items() if name not in fresh}, strict=False)
    return fresh
