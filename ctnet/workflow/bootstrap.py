"""Bootstrap percentile intervals over validation videos, from the saved per-video scores (numpy only).

A scores file `S.npz` (docs/experiment.md; it lies beside the `S.json` a table plan names) holds `video_ids` (N),
`labels` (N) and `scores` (N x C). The videos are resampled with replacement RESAMPLES times: one (RESAMPLES x N)
index matrix drawn from numpy's `default_rng(SEED)`, so the same N always gives the same resamples. A resample's
top-1 or top-5 is the mean of the gathered per-video 0/1 vector (`correctness`); its mean class accuracy comes from
per-class counts, over the classes that occur in the resample (as `ctnet.engine.metrics` does). The interval is
the percentiles of the RESAMPLES values (2.5 and 97.5 for LEVEL 95).

- `row_intervals(paths)`: point and interval of top1, top5 and mean_class_acc for one table row; several paths
  (a mean over dataset splits) resample each split's videos independently, one generator drawing them in turn,
  and average; splits over the very same videos are resampled together (a video counts once).
- `paired_difference(a, b)`: two evaluations of the same videos, aligned by id, resampled with the SAME indices.
- `bootstrap_interval(values_or_fn, n)`: the interval of any statistic of per-video values.

Importing this module never imports torch: the Snakefile reads ctnet.workflow.tables, which uses it.
"""

import functools
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ctnet.workflow.io import ConfigError

RESAMPLES = 1000
SEED = 0
LEVEL = 95.0
METRICS = ("top1", "top5", "mean_class_acc")
# Gathered elements per block of resamples: bounds the memory of the (resamples x N) gathers at large N.
_BLOCK_ELEMENTS = 4_000_000


class ScoresFileError(ConfigError):
    """A scores file that cannot be read, or two that do not pair: one line naming the file and the fix."""


def npz_path(path):
    """The per-video scores `S.npz` of a metrics file `S.json` (or of `S.npz` itself)."""
    return Path(path).with_suffix(".npz")


def load(path):
    """video_ids, labels and scores of the scores file beside `path` (.json or .npz), checked to fit together."""
    path = npz_path(path)
    fix = f"rerun the test or fuse rule that writes it with {path.with_suffix('.json').name}"
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ScoresFileError(f"{path}: per-video scores not found; {fix}") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        raise ScoresFileError(f"{path}: not a readable scores file; {fix}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ScoresFileError(f"{path}: not a scores file (an .npy array, not an .npz); {fix}")
    try:
        with loaded as npz:
            missing = [key for key in ("video_ids", "labels", "scores") if key not in npz.files]
            if missing:
                raise ScoresFileError(f"{path}: not a scores file, missing arrays {missing}; {fix}")
            data = {key: npz[key] for key in ("video_ids", "labels", "scores")}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        raise ScoresFileError(f"{path}: not a readable scores file; {fix}") from None
    scores, labels = data["scores"], data["labels"]
    n = len(data["video_ids"])
    if scores.ndim != 2 or scores.shape[0] != n or labels.shape != (n,) or n == 0 or scores.shape[1] == 0:
        raise ScoresFileError(f"{path}: inconsistent or empty arrays (scores {scores.shape}, {n} ids, labels "
                              f"{labels.shape}); {fix}")
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ScoresFileError(f"{path}: labels are not class indices in [0, {scores.shape[1]}); {fix}")
    data["path"] = path
    return data


def _topk_hits(scores, labels, k):
    """Whether each video's label is among its k highest scores (k capped at C), as ctnet.engine.metrics."""
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    return np.any(top == labels[:, None], axis=1)


def correctness(scores):
    """Per-video 0/1 arrays of one scores file (a path or `load`'s dict): top1 and top5 (bool, N), with the
    labels (int, N), video_ids and num_classes that mean class accuracy and alignment need."""
    data = load(scores) if isinstance(scores, (str, Path)) else scores
    labels = np.asarray(data["labels"]).astype(np.int64)
    values = np.asarray(data["scores"])
    return {
        "top1": _topk_hits(values, labels, 1),
        "top5": _topk_hits(values, labels, 5),
        "labels": labels,
        "video_ids": np.asarray(data["video_ids"]).astype(str),
        "num_classes": int(values.shape[1]),
        "path": data.get("path", ""),
    }


@functools.lru_cache(maxsize=4)
def split_resample_indices(sizes, resamples=RESAMPLES, seed=SEED):
    """One (resamples x n) matrix of video indices per size in `sizes` (a tuple), drawn in turn from one
    `default_rng(seed)`: independent resamples of each split, the first the same as `resample_indices(n)`.
    Cached (read-only arrays), since the rows of a table mostly share one validation set."""
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        if not 0 < n < 2 ** 31:
            raise ValueError(f"cannot resample {n} videos")
        matrix = rng.integers(0, n, size=(resamples, n), dtype=np.int32)
        matrix.flags.writeable = False
        out.append(matrix)
    return tuple(out)


def resample_indices(n, resamples=RESAMPLES, seed=SEED):
    """The (resamples x n) matrix of video indices that every bootstrap over n videos uses."""
    return split_resample_indices((int(n),), resamples, seed)[0]


def _blocks(indices):
    step = max(1, _BLOCK_ELEMENTS // max(1, indices.shape[1]))
    for start in range(0, indices.shape[0], step):
        yield slice(start, start + step)


def resampled_means(values, indices):
    """Mean of the per-video `values` (N, or N x K) over each resample (row of `indices`): R (or R x K) values."""
    values = np.asarray(values)
    out = np.empty((indices.shape[0],) + values.shape[1:], dtype=np.float64)
    for rows in _blocks(indices):
        out[rows] = values[indices[rows]].mean(axis=1)
    return out


def resampled_mean_class(top1, labels, num_classes, indices):
    """Mean class accuracy (percent) of each resample: top-1 recall averaged over the classes it contains."""
    out = np.empty(indices.shape[0], dtype=np.float64)
    for rows in _blocks(indices):
        block = indices[rows]
        offsets = (np.arange(block.shape[0], dtype=np.int64) * num_classes)[:, None]
        keys = labels[block] + offsets  # (resample, class) as one index
        size = block.shape[0] * num_classes
        count = np.bincount(keys.ravel(), minlength=size).reshape(-1, num_classes)
        hits = np.bincount(keys[top1[block]], minlength=size).reshape(-1, num_classes)
        present = count > 0
        recall = np.divide(hits, count, out=np.zeros(count.shape), where=present)
        out[rows] = 100.0 * recall.sum(axis=1) / present.sum(axis=1)
    return out


def resampled_metrics(corr, indices):
    """top1, top5 and mean_class_acc (percent) of each resample of one `correctness`: R values each."""
    return {
        "top1": 100.0 * resampled_means(corr["top1"], indices),
        "top5": 100.0 * resampled_means(corr["top5"], indices),
        "mean_class_acc": resampled_mean_class(corr["top1"], corr["labels"], corr["num_classes"], indices),
    }


def point_metrics(corr):
    """top1, top5 and mean_class_acc (percent) of all the videos: the identity resample."""
    identity = np.arange(len(corr["labels"]), dtype=np.int64)[None, :]
    return {key: float(values[0]) for key, values in resampled_metrics(corr, identity).items()}


def percentile_interval(stats, level=LEVEL):
    """(lo, hi) percentiles of resampled statistics (along the first axis) enclosing `level` percent."""
    tail = (100.0 - level) / 2
    lo, hi = np.percentile(np.asarray(stats, dtype=np.float64), [tail, 100.0 - tail], axis=0)
    return (float(lo), float(hi)) if np.ndim(lo) == 0 else (lo, hi)


def bootstrap_interval(values_or_fn, n=None, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """Percentile interval of a statistic over resampled videos.

    `values_or_fn` is either per-video values (N, or N x K: the statistic is their mean, per column) or a
    function taking the (resamples x n) index matrix and returning the statistic of each resample (give `n`).
    """
    if callable(values_or_fn):
        if n is None:
            raise ValueError("give n, the number of videos, with a statistic function")
        stats = values_or_fn(resample_indices(n, resamples, seed))
    else:
        values = np.asarray(values_or_fn, dtype=np.float64)
        stats = resampled_means(values, resample_indices(len(values), resamples, seed))
    return percentile_interval(stats, level)


def _align(corr, order):
    """`corr` with its videos in the order of the video ids `order` (the same set)."""
    position = {vid: i for i, vid in enumerate(corr["video_ids"].tolist())}
    index = np.array([position[vid] for vid in order], dtype=np.int64)
    aligned = {key: corr[key][index] for key in ("top1", "top5", "labels", "video_ids")}
    return {**corr, **aligned}


def _check_unique(corr):
    ids = corr["video_ids"].tolist()
    if len(set(ids)) != len(ids):
        raise ScoresFileError(f"{corr['path']}: video ids are not unique; rerun the test rule that writes it")


def _same_videos(a, b):
    return len(a["video_ids"]) == len(b["video_ids"]) and set(a["video_ids"].tolist()) == set(b["video_ids"].tolist())


def row_intervals(paths, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """Point estimate and interval of each metric of one table row from its scores files (one, or one per split
    for a mean over splits): {metric: (point, lo, hi)}, with num_videos (distinct videos) and num_classes (the
    fewest of the files)."""
    corrs = [correctness(load(path)) for path in paths]
    if not corrs:
        raise ValueError("no scores files to bootstrap")
    if len(corrs) > 1 and all(_same_videos(corrs[0], corr) for corr in corrs[1:]):
        # The splits hold the same videos (one synthetic split standing for all): resample them together.
        for corr in corrs:
            _check_unique(corr)
        order = corrs[0]["video_ids"].tolist()
        corrs = [corrs[0]] + [_align(corr, order) for corr in corrs[1:]]
        indices = (resample_indices(len(order), resamples, seed),) * len(corrs)
        num_videos = len(order)
    else:
        indices = split_resample_indices(tuple(len(corr["labels"]) for corr in corrs), resamples, seed)
        num_videos = len(set().union(*(corr["video_ids"].tolist() for corr in corrs)))
    stats = [resampled_metrics(corr, idx) for corr, idx in zip(corrs, indices)]
    points = [point_metrics(corr) for corr in corrs]
    out = {}
    for key in METRICS:
        lo, hi = percentile_interval(np.mean([s[key] for s in stats], axis=0), level)
        out[key] = (float(np.mean([p[key] for p in points])), lo, hi)
    out["num_videos"] = num_videos
    out["num_classes"] = min(corr["num_classes"] for corr in corrs)
    return out


def paired_difference(a, b, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """Metric of `a` minus that of `b`, two scores files (or `load` dicts) over the same videos, with its
    interval from the SAME resamples of the videos for both: {metric: (difference, lo, hi)} and num_videos.
    Files listing different videos, other labels or another class count are refused with one line."""
    ca, cb = correctness(a), correctness(b)
    for corr in (ca, cb):
        _check_unique(corr)
    if not _same_videos(ca, cb):
        only_a = sorted(set(ca["video_ids"].tolist()) - set(cb["video_ids"].tolist()))[:3]
        only_b = sorted(set(cb["video_ids"].tolist()) - set(ca["video_ids"].tolist()))[:3]
        raise ScoresFileError(f"{cb['path']}: video ids differ from {ca['path']} (e.g. only in the first: {only_a}, "
                              f"only in the second: {only_b}); compare evaluations of the same videos")
    cb = _align(cb, ca["video_ids"].tolist())
    if ca["num_classes"] != cb["num_classes"] or not np.array_equal(ca["labels"], cb["labels"]):
        raise ScoresFileError(f"{cb['path']}: labels or class count differ from {ca['path']}; compare evaluations "
                              "of the same dataset")
    indices = resample_indices(len(ca["labels"]), resamples, seed)
    stats_a, stats_b = resampled_metrics(ca, indices), resampled_metrics(cb, indices)
    point_a, point_b = point_metrics(ca), point_metrics(cb)
    out = {key: (point_a[key] - point_b[key], *percentile_interval(stats_a[key] - stats_b[key], level))
           for key in METRICS}
    out["num_videos"] = len(ca["labels"])
    return out
