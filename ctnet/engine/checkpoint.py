"""Training checkpoints: written atomically, holding everything a restarted run needs to continue exactly.

Checkpoints hold tensors and plain Python data only, and are read with `torch.load(weights_only=True)`: a
crafted `.pt` file cannot run code when a checkpoint is resumed, tested or fine-tuned from. Each one carries the
digest of the settings that trained it (`settings_digest`), so that a run never continues from another's state.
"""

import errno
import hashlib
import json
import os
import pickle
import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch

from ctnet.atomic import atomic_path
from ctnet.data.frames import manifest_paths
from ctnet.experiment import flatten
from ctnet.model_spec import torchvision_version

LAST_CHECKPOINT = "last.pt"
# Files whose contents decide the weights, by section and key: the lists' video ids, frame counts and labels, the
# class names, and local ImageNet weights. Their paths stay the same when the lists are rebuilt from other videos.
INPUT_FILES = {"data": ("train_list", "val_list", "classes"), "model": ("pretrained",)}


def file_digest(path):
    """'sha256:' and the first 16 hex digits of the SHA-256 of the bytes of `path`."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return "sha256:" + sha.hexdigest()[:16]


def input_contents(exp):
    """{section: {key: file digest}} of the experiment's INPUT_FILES and its frames' manifests. A file not there
    yet (a val list no epoch reads) is "missing", for the dataset that needs it to report; "torchvision:<version>"
    weights are no file."""
    contents = {}
    for section, keys in INPUT_FILES.items():
        for key in keys:
            path = exp[section].get(key)
            if isinstance(path, str) and torchvision_version(path) is None:
                contents.setdefault(section, {})[key] = file_digest(path) if os.path.isfile(path) else "missing"
    frames = frames_digest(exp["data"].get("frames_root"))
    if frames is not None:
        contents.setdefault("data", {})["frames"] = frames
    return contents


def frames_digest(frames_root):
    """The digest of the extraction manifests of `frames_root`, which name what made each frame folder
    (`made_from`): re-extracted frames with the same ids and counts leave the lists unchanged but not these. None
    for frames that were shipped extracted (no manifest)."""
    manifests = manifest_paths(frames_root) if frames_root else []
    if not manifests:
        return None
    sha = hashlib.sha256()
    for path in manifests:
        sha.update(path.name.encode() + b"\0" + path.read_bytes())
    return "sha256:" + sha.hexdigest()[:16]


def training_settings(exp, init_digest=None):
    """What determines a training's weights: the resolved model, data and train sections, the seed, the contents
    of the files they name, and the digest of the weights it fine-tunes from (paths alone would not change when
    the lists are rebuilt or the weights retrained)."""
    settings = {key: exp[key] for key in ("seed", "model", "data", "train")}
    if exp["train"].get("micro_batch") is None:
        # Unset, it is the whole per-process share, as before the key existed: earlier checkpoints keep their digest.
        settings["train"] = {key: value for key, value in exp["train"].items() if key != "micro_batch"}
    settings["contents"] = input_contents(exp)
    if init_digest is not None:
        settings["init_digest"] = init_digest
    return settings


def settings_digest(settings):
    """A short hex digest of `settings` (plain YAML data), the same for the same values in any key order."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def settings_changes(old, new, limit=4):
    """'train.lr 0.01 -> 0.003, ...': the dotted keys whose values differ between two settings mappings."""
    old_flat, new_flat = dict(flatten(old or {})), dict(flatten(new))
    changes = [f"{key} {old_flat.get(key, '(unset)')!r} -> {new_flat.get(key, '(unset)')!r}"
               for key in sorted(set(old_flat) | set(new_flat)) if old_flat.get(key) != new_flat.get(key)]
    more = f", and {len(changes) - limit} more" if len(changes) > limit else ""
    return ", ".join(changes[:limit]) + more if changes else "unrecorded settings"


def rng_state():
    """The state of every random generator the training loop draws from in this process."""
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state = {
        "python": random.getstate(),
        # numpy's key array as a tensor: weights_only loading accepts tensors, not numpy arrays
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    random.setstate(state["python"])
    saved = state["numpy"]
    np.random.set_state((saved["name"], saved["keys"].numpy().astype(np.uint32), saved["pos"], saved["has_gauss"],
                         saved["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path, state):
    """torch.save `state` to `path` through a temporary file, so a kill mid-write keeps the previous checkpoint.

    A failed write is one OSError naming `path`, the cause in plain words and the fix: on a full disk torch's
    C++ writer raises a RuntimeError ("[enforce fail at inline_container.cc:...] unexpected pos ...") that says
    neither.
    """
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    except (OSError, RuntimeError) as err:
        cause, full = write_failure(err, path.parent, state)
        kept = f"the previous {path.name} is unchanged" if path.exists() else "nothing was written"
        fix = f"free space in {path.parent}" if full else f"check that {path.parent} is writable"
        raise OSError(f"{path}: could not write the checkpoint: {cause}; {kept}. {fix.capitalize()} and run the "
                      "same command again") from err


def write_failure(err, folder, state):
    """(cause in plain words, whether the disk is full) of a failed torch.save into `folder`: the strerror of an
    OSError in the chain; without one (torch's C++ writer has no errno), "No space left on device" when the folder
    has less free space than the state's tensors need, else the first line of torch's message."""
    cause = err
    while cause is not None and not (isinstance(cause, OSError) and cause.errno):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        return cause.strerror or os.strerror(cause.errno), cause.errno in (errno.ENOSPC, errno.EDQUOT)
    free, needed = shutil.disk_usage(folder).free, tensor_bytes(state)
    if free < needed + 2**20:  # the archive adds little beyond its tensors; a MiB covers the rest
        return (f"{os.strerror(errno.ENOSPC)} ({free / 2**20:.1f} MiB free, about {needed / 2**20:.1f} MiB "
                "needed)"), True
    lines = str(err).strip().splitlines()
    return (lines[0] if lines else type(err).__name__), False


def tensor_bytes(value):
    """Bytes of the tensors in a nest of dicts, lists and tuples."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(tensor_bytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(tensor_bytes(item) for item in value)
    return 0


def load_checkpoint(path, map_location="cpu"):
    """Load a checkpoint written by `save_checkpoint`: tensors and plain data only (weights_only)."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # Random bytes read as a pickle header make torch warn about an unknown pickle protocol: the error
            # below already says the file is unreadable, in one line.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: checkpoint not found; check --checkpoint / --ckpt-dir") from None
    except IsADirectoryError:
        raise RuntimeError(f"{path}: is a directory, not a checkpoint file; pass a final.pt or last.pt written by "
                           "ctnet") from None
    except pickle.UnpicklingError:
        # torch's own message suggests loading unsafely: not advice to pass on for a file of unknown origin.
        raise RuntimeError(f"{path}: not a ctnet checkpoint (it is not a torch file of tensors and plain data, "
                           "and loading it otherwise could run code); pass a final.pt or last.pt written by "
                           "ctnet") from None
    except Exception as err:  # noqa: BLE001 -- garbage makes the unpickler raise IndexError, KeyError, ...
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise RuntimeError(f"{path}: unreadable checkpoint ({reason}); delete it to train this run from "
                           "scratch") from None


def trained_state(path):
    """The saved training state in `path` (a final.pt or last.pt), checked to hold a model's weights."""
    state = load_checkpoint(path)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path}: not a ctnet checkpoint (no 'model' entry); pass final.pt of a training run")
    return state


def load_finetune_weights(model, path):
    """Initialise `model` from the trained weights in `path` (a ctnet final.pt or checkpoint) for fine-tuning.

    Tensors whose shape differs, the classifier of another dataset's class count, keep their fresh
    initialisation; any other mismatch (another architecture) is an error. Returns the names kept fresh and the
    settings digest the weights were trained with, or for a file without one (imported official weights) the
    digest of its bytes: either changes when the weights do.
    """
    own = model.state_dict()
    state = trained_state(path)
    source = state["model"]
    missing = sorted(set(own) - set(source))
    unexpected = sorted(set(source) - set(own))
    if missing or unexpected:
        raise ValueError(f"{path}: weights of another architecture (missing {missing[:3]}, unexpected "
                         f"{unexpected[:3]}); train.init_from must name a model with the same spec")
    fresh = [name for name, tensor in source.items() if tensor.shape != own[name].shape]
    model.load_state_dict({name: tensor for name, tensor in source.items() if name not in fresh}, strict=False)
    return fresh, state.get("digest") or file_digest(path)
