"""Scores files (docs/experiment.md): per-video averaged view scores, saved as `S.npz` with a metrics `S.json`.

`S.npz` holds `video_ids` (str, N), `labels` (int64, N), `scores` (float32, N x C) and `class_names` (str, C).
`S.json` holds top1, top5, mean_class_acc (percent), num_videos, protocol and experiment.
"""

import logging
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ctnet.atomic import atomic_path, write_json_atomic
from .logs import setup_logging
from .metrics import classification_metrics

logger = logging.getLogger(__name__)

SCORE_KEYS = ("video_ids", "labels", "scores", "class_names")


class ScoresError(ValueError):
    """A scores file that is malformed or does not match the others it is fused with."""


def metrics_path(npz_path):
    return Path(npz_path).with_suffix(".json")


def save_scores(path, video_ids, labels, scores, class_names, protocol, experiment):
    """Write the scores file and its metrics JSON (both atomically); return the metrics dict."""
    video_ids = np.asarray(video_ids, dtype=str)
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float32)
    class_names = np.asarray(class_names, dtype=str)
    if scores.shape != (len(video_ids), len(class_names)) or labels.shape != (len(video_ids),):
        raise ScoresError(f"{path}: inconsistent shapes: scores {scores.shape}, {len(video_ids)} ids, "
                          f"{labels.shape[0]} labels, {len(class_names)} classes")
    with atomic_path(path) as tmp:
        np.savez(tmp, video_ids=video_ids, labels=labels, scores=scores, class_names=class_names)
    metrics = {**classification_metrics(scores, labels), "protocol": protocol, "experiment": experiment}
    write_json_atomic(metrics_path(path), metrics)
    return metrics


def load_scores(path):
    """Read a scores file into a dict of its four arrays, checking that they fit together."""
    path = Path(path)
    unreadable = f"{path}: not a readable scores file (an .npz written by scripts/test.py); re-run scripts/test.py for it"
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # an .npy array
            raise ScoresError(unreadable)
        with loaded as npz:
            missing = [key for key in SCORE_KEYS if key not in npz.files]
            if missing:
                raise ScoresError(f"{path}: not a scores file, missing arrays {missing}; write it with scripts/test.py")
            data = {key: npz[key] for key in SCORE_KEYS}
    except FileNotFoundError:
        raise ScoresError(f"{path}: scores file not found; run scripts/test.py for it first") from None
    except ScoresError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        # numpy's own message for a pickled file advises allow_pickle=True: not advice to follow for a scores file.
        raise ScoresError(unreadable) from None
    n, c = len(data["video_ids"]), len(data["class_names"])
    if data["scores"].shape != (n, c) or data["labels"].shape != (n,):
        raise ScoresError(f"{path}: inconsistent shapes: scores {data['scores'].shape}, {n} ids, "
                          f"{data['labels'].shape[0]} labels, {c} classes; re-run scripts/test.py")
    return data


def _softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def fuse_scores(paths, weights=None, average="scores"):
    """Weighted mean of the scores of several files over the same videos (the paper's ensembles).

    Files may list the videos in different orders; they are aligned on the first file's order. Every file must
    hold exactly the same video ids with the same labels and the same class names, else a ScoresError names the
    offending file. `average="softmax"` turns each file's scores into probabilities before averaging.
    Returns (video_ids, labels, scores, class_names) with scores as float32.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ScoresError("no scores files given to fuse")
    weights = [1.0] * len(paths) if weights is None else [float(w) for w in weights]
    if len(weights) != len(paths):
        raise ScoresError(f"{len(weights)} weights for {len(paths)} scores files; give one weight per file")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ScoresError(f"weights {weights} must be non-negative with a positive sum")
    if average not in ("scores", "softmax"):
        raise ScoresError(f"average must be 'scores' or 'softmax', got {average!r}")

    ref = load_scores(paths[0])
    ids = ref["video_ids"]
    if len(set(ids.tolist())) != len(ids):
        raise ScoresError(f"{paths[0]}: video ids are not unique; re-run scripts/test.py")
    total = np.zeros(ref["scores"].shape, dtype=np.float64)
    for path, weight in zip(paths, weights):
        data = ref if path == paths[0] else load_scores(path)
        if not np.array_equal(data["class_names"], ref["class_names"]):
            raise ScoresError(f"{path}: class names differ from {paths[0]}; fuse only models of the same dataset")
        if data["video_ids"].shape != ids.shape or set(data["video_ids"].tolist()) != set(ids.tolist()):
            only_here = sorted(set(data["video_ids"].tolist()) - set(ids.tolist()))[:3]
            only_ref = sorted(set(ids.tolist()) - set(data["video_ids"].tolist()))[:3]
            raise ScoresError(f"{path}: video ids do not match {paths[0]} (e.g. only here: {only_here}, "
                              f"only there: {only_ref}); test every model on the same list")
        order = {vid: i for i, vid in enumerate(data["video_ids"].tolist())}
        index = np.array([order[vid] for vid in ids.tolist()], dtype=np.int64)
        if not np.array_equal(data["labels"][index], ref["labels"]):
            bad = ids[np.flatnonzero(data["labels"][index] != ref["labels"])[:3]].tolist()
            raise ScoresError(f"{path}: labels differ from {paths[0]} for videos {bad}; the lists disagree")
        scores = data["scores"][index].astype(np.float64)
        total += weight * (_softmax(scores) if average == "softmax" else scores)
    fused = (total / sum(weights)).astype(np.float32)
    return ids, ref["labels"], fused, ref["class_names"]


def fuse(score_paths, out, weights=None, average="scores"):
    """Average several scores files (the paper's ensembles); writes `out` (.npz) and its .json."""
    setup_logging()
    ids, labels, scores, class_names = fuse_scores(score_paths, weights=weights, average=average)
    names = [Path(p).stem for p in score_paths]
    metrics = save_scores(out, ids, labels, scores, class_names, protocol="fused", experiment="+".join(names))
    logger.info("ensemble of %s: top1 %.2f top5 %.2f mean class %.2f over %d videos; saved to %s",
                ", ".join(names), metrics["top1"], metrics["top5"], metrics["mean_class_acc"],
                metrics["num_videos"], out)
    return metrics
