"""Bootstrap percentile intervals over validation videos, from the saved per-video scores (numpy only).

A scores file `S.npz` (docs/experiment.md; it lies beside the `S.json` a table plan names) holds `video_ids` (N),
`labels` (N) and `scores` (N x C). The videos are resampled with replacement RESAMPLES times: one (RESAMPLES x N)
index matrix drawn from numpy's `default_rng(SEED)`, so the same N always gives the same resamples. A resample's
top-1 or top-5 is the mean of the gathered per-video 0/1 vector (`correctness`); its mean class accuracy comes from
per-class counts, over the classes that occur in the resample (as `ctnet.engine.metrics` does). The interval is
the percentiles of the RESAMPLES values (2.5 and 97.5 for LEVEL 95).

- `row_intervals(evaluations)`: point and interval of top1, top5 and mean_class_acc for one table row; several
  evaluations (a mean over dataset splits) resample each split's videos independently, one generator drawing them
  in turn, and average; splits over the very same videos are resampled together (a video counts once).
- Seeds (`seeds:` of the configuration): an evaluation may be a list of scores files, one per seed, all of the
  same videos. The point is the mean over seeds; each resample also draws the seeds with replacement
  (`seed_resample_indices`) and averages the drawn seeds' metrics on its videos: the pooled interval holds both
  the videos' and the trainings' noise. A single seed is never resampled, so its intervals are the videos' alone.
- `paired_rows(high, low)` / `paired_difference(a, b)`: two rows evaluated on the same videos, aligned by id,
  the videos (and the seeds, paired by seed) resampled with the SAME indices for both.
- `bootstrap_interval(values_or_fn, n)`: the interval of any statistic of per-video values.

Importing this module never imports torch (ctnet.engine's scores and metrics are numpy only): the Snakefile reads
ctnet.workflow.tables, which uses it.
"""

import functools
from pathlib import Path

import numpy as np

from ctnet.engine.metrics import topk_hits
from ctnet.engine.scores import ScoresError, load_scores
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
    """video_ids, labels and scores of the scores file beside `path` (.json or .npz), read by the engine's
    `load_scores` and checked to hold at least one video with labels that index its classes."""
    path = npz_path(path)
    fix = f"rerun the test or fuse rule that writes it with {path.with_suffix('.json').name}"
    if not path.is_file():
        raise ScoresFileError(f"{path}: per-video scores not found; {fix}")
    try:
        data = load_scores(path)
    except ScoresError as err:
        raise ScoresFileError(str(err)) from None
    scores, labels = data["scores"], data["labels"]
    if len(labels) == 0 or scores.shape[1] == 0:
        raise ScoresFileError(f"{path}: no videos or no classes (scores {scores.shape}); {fix}")
    if not np.isfinite(scores).all():
        # argmax of a NaN row is class 0: an all-NaN model would score 1 / C instead of failing
        bad = int((~np.isfinite(scores)).any(axis=1).sum())
        raise ScoresFileError(f"{path}: {bad} of {len(labels)} videos have NaN or infinite scores; {fix} "
                              "(a model whose training diverged)")
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ScoresFileError(f"{path}: labels are not class indices in [0, {scores.shape[1]}); {fix}")
    data["path"] = path
    return data


def correctness(scores):
    """Per-video 0/1 arrays of one scores file (a path or `load`'s dict): top1 and top5 (bool, N), with the
    labels (int, N), video_ids and num_classes that mean class accuracy and alignment need."""
    data = load(scores) if isinstance(scores, (str, Path)) else scores
    labels = np.asarray(data["labels"]).astype(np.int64)
    values = np.asarray(data["scores"])
    return {
        "top1": topk_hits(values, labels, 1),
        "top5": topk_hits(values, labels, 5),
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


def _aligned_to(first, other, what):
    """`other` in `first`'s video order, refused with one line unless it holds the same videos and labels."""
    _check_unique(other)
    if not _same_videos(first, other):
        only_a = sorted(set(first["video_ids"].tolist()) - set(other["video_ids"].tolist()))[:3]
        only_b = sorted(set(other["video_ids"].tolist()) - set(first["video_ids"].tolist()))[:3]
        raise ScoresFileError(f"{other['path']}: video ids differ from {first['path']} (e.g. only in the first: "
                              f"{only_a}, only in the second: {only_b}); {what}")
    other = _align(other, first["video_ids"].tolist())
    if first["num_classes"] != other["num_classes"] or not np.array_equal(first["labels"], other["labels"]):
        raise ScoresFileError(f"{other['path']}: labels or class count differ from {first['path']}; {what}")
    return other


def seed_list(scores):
    """The per-seed scores of one evaluation: a path (or `load` dict) is one seed, a list holds one per seed."""
    return list(scores) if isinstance(scores, (list, tuple)) else [scores]


def seed_correctness(scores):
    """Correctness of each seed of one evaluation, all in the first seed's video order."""
    corrs = [correctness(item) for item in seed_list(scores)]
    _check_unique(corrs[0])
    return [corrs[0]] + [_aligned_to(corrs[0], corr, "every seed must be tested on the same videos")
                         for corr in corrs[1:]]


def seed_resample_indices(num_seeds, resamples=RESAMPLES, seed=SEED):
    """(resamples x num_seeds) seed indices drawn with replacement: the seeds' share of the pooled interval. One
    seed is never resampled (all zeros), so a single-seed run's intervals are those of its videos alone."""
    if num_seeds == 1:
        return np.zeros((resamples, 1), dtype=np.int64)
    return np.random.default_rng([seed, num_seeds]).integers(0, num_seeds, size=(resamples, num_seeds))


def pooled_metrics(seed_corrs, video_indices, seed_indices):
    """Each resample's metrics (percent) pooled over seeds: the mean, over that resample's drawn seeds, of each
    seed's metric on that resample's videos. {metric: R values}."""
    per_seed = [resampled_metrics(corr, video_indices) for corr in seed_corrs]
    rows = np.arange(seed_indices.shape[0])[:, None]
    return {key: np.stack([stats[key] for stats in per_seed], axis=1)[rows, seed_indices].mean(axis=1)
            for key in METRICS}


def _split_video_indices(splits, resamples, seed):
    """Each split's video indices, and the splits (lists of seed correctness) in the order the indices refer to:
    splits over the very same videos (one synthetic split standing for all) are resampled together, a video
    counting once; others independently. Also the number of distinct videos."""
    firsts = [seeds[0] for seeds in splits]
    if len(splits) > 1 and all(_same_videos(firsts[0], first) for first in firsts[1:]):
        order = firsts[0]["video_ids"].tolist()
        splits = [splits[0]] + [[_align(corr, order) for corr in seeds] for seeds in splits[1:]]
        return splits, (resample_indices(len(order), resamples, seed),) * len(splits), len(order)
    indices = split_resample_indices(tuple(len(first["labels"]) for first in firsts), resamples, seed)
    return splits, indices, len(set().union(*(first["video_ids"].tolist() for first in firsts)))


def _seed_points(seeds):
    """Each seed's point metrics: {metric: S values}."""
    points = [point_metrics(corr) for corr in seeds]
    return {key: np.array([point[key] for point in points]) for key in METRICS}


def row_intervals(evaluations, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """Point estimate and interval of each metric of one table row from its evaluations (one, or one per split
    for a mean over splits), each the scores file of one seed or a list with one per seed: {metric: (point, lo,
    hi)} with the point the mean over splits and seeds and the interval pooled over videos and seeds; `spread`
    {metric: (min, max)} over the seeds (of the split mean), `seeds`, num_videos (distinct videos) and
    num_classes (the fewest of the files)."""
    if not evaluations:
        raise ValueError("no scores files to bootstrap")
    splits = [seed_correctness(scores) for scores in evaluations]
    num_seeds = {len(seeds) for seeds in splits}
    if len(num_seeds) != 1:
        raise ValueError(f"the splits of a row have different seed counts: {sorted(num_seeds)}")
    splits, indices, num_videos = _split_video_indices(splits, resamples, seed)
    seed_indices = seed_resample_indices(len(splits[0]), resamples, seed)
    stats = [pooled_metrics(seeds, idx, seed_indices) for seeds, idx in zip(splits, indices)]
    points = [_seed_points(seeds) for seeds in splits]
    out = {"spread": {}}
    for key in METRICS:
        lo, hi = percentile_interval(np.mean([s[key] for s in stats], axis=0), level)
        per_seed = np.mean([p[key] for p in points], axis=0)
        out[key] = (float(per_seed.mean()), lo, hi)
        out["spread"][key] = (float(per_seed.min()), float(per_seed.max()))
    out["seeds"] = len(splits[0])
    out["num_videos"] = num_videos
    out["num_classes"] = min(seeds[0]["num_classes"] for seeds in splits)
    return out


def paired_rows(high, low, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """Metric of row `high` minus that of row `low` with its interval: each row a list of evaluations (one per
    split) as `row_intervals` takes them. Both rows' videos are resampled with the SAME indices (paired over
    videos), and so are their seeds when both rows have as many: seed k of both rows trained with the same seed
    (initialisation and order of the training clips), a common-random-numbers pairing; else each row's on its own.
    {metric: (difference, lo, hi)} and num_videos (summed over splits). Evaluations of other videos, labels or
    class counts are refused with one line."""
    if len(high) != len(low):
        raise ValueError(f"the rows average {len(high)} and {len(low)} evaluations")
    what = "compare evaluations of the same videos"
    pairs = []
    for scores_h, scores_l in zip(high, low):
        seeds_h, seeds_l = seed_correctness(scores_h), seed_correctness(scores_l)
        pairs.append((seeds_h, [_aligned_to(seeds_h[0], corr, what) for corr in seeds_l]))
    merged, indices, _ = _split_video_indices([h + l for h, l in pairs], resamples, seed)
    pairs = [(both[:len(h)], both[len(h):]) for both, (h, _) in zip(merged, pairs)]
    num_h, num_l = len(pairs[0][0]), len(pairs[0][1])
    seeds_h = seed_resample_indices(num_h, resamples, seed)
    seeds_l = seeds_h if num_l == num_h else seed_resample_indices(num_l, resamples, seed + 1)
    stats, points = [], []
    for (h, l), idx in zip(pairs, indices):
        stat_h, stat_l = pooled_metrics(h, idx, seeds_h), pooled_metrics(l, idx, seeds_l)
        point_h, point_l = _seed_points(h), _seed_points(l)
        stats.append({key: stat_h[key] - stat_l[key] for key in METRICS})
        points.append({key: point_h[key].mean() - point_l[key].mean() for key in METRICS})
    out = {key: (float(np.mean([p[key] for p in points])),
                 *percentile_interval(np.mean([s[key] for s in stats], axis=0), level)) for key in METRICS}
    out["num_videos"] = sum(len(h[0]["labels"]) for h, _ in pairs)
    return out


def paired_difference(a, b, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """`paired_rows` of two single evaluations (each a scores file, a `load` dict, or a list with one per seed)."""
    return paired_rows([a], [b], resamples, seed, level)


def per_video(corr, metric):
    """Per-video values (percent) whose mean over the videos is `metric`: top1 and top5 hits, and for mean class
    accuracy each top-1 hit weighted by N / (classes present x videos of its class)."""
    if metric != "mean_class_acc":
        return 100.0 * corr[metric].astype(np.float64)
    counts = np.bincount(corr["labels"], minlength=corr["num_classes"])
    weight = len(corr["labels"]) / (np.count_nonzero(counts) * counts[corr["labels"]])
    return 100.0 * corr["top1"] * weight


def _by_video_set(arrays, firsts):
    """(seeds x videos) arrays of splits, with splits over the very same videos (one synthetic split standing for
    three) averaged video by video into one, in the first's order: a video counts once."""
    if len(arrays) > 1 and all(_same_videos(firsts[0], first) for first in firsts[1:]):
        order = firsts[0]["video_ids"].tolist()
        index = [[position[vid] for vid in order]
                 for position in ({vid: i for i, vid in enumerate(first["video_ids"].tolist())} for first in firsts)]
        return [np.mean([values[:, positions] for values, positions in zip(arrays, index)], axis=0)]
    return arrays


def seed_values(evaluations, metric):
    """A row's per-video values of `metric` as stats.seed_interval takes them: one (seeds x videos) array per
    split of other videos (see `_by_video_set`)."""
    splits = [seed_correctness(scores) for scores in evaluations]
    arrays = [np.stack([per_video(corr, metric) for corr in seeds]) for seeds in splits]
    return _by_video_set(arrays, [seeds[0] for seeds in splits])


def paired_seed_values(high, low, metric):
    """Per-video differences high - low of `metric` (percent), as `seed_values`: each row a list of evaluations,
    paired split by split on the same videos (aligned by id) and seed by seed over the seeds both have (the
    first ones: seed k of both rows trained with the same seed). Other videos, labels or class counts are refused
    with one line (ScoresFileError)."""
    if len(high) != len(low):
        raise ValueError(f"the rows average {len(high)} and {len(low)} evaluations")
    what = "compare evaluations of the same videos"
    arrays, firsts = [], []
    for scores_h, scores_l in zip(high, low):
        seeds_h, seeds_l = seed_correctness(scores_h), seed_correctness(scores_l)
        seeds_l = [_aligned_to(seeds_h[0], corr, what) for corr in seeds_l]
        common = min(len(seeds_h), len(seeds_l))
        arrays.append(np.stack([per_video(h, metric) - per_video(l, metric)
                                for h, l in zip(seeds_h[:common], seeds_l[:common])]))
        firsts.append(seeds_h[0])
    return _by_video_set(arrays, firsts)
