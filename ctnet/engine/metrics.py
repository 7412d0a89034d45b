"""Classification metrics over per-video scores: top-k accuracy and mean class accuracy, in percent.

Every metric is computed from counts (`metric_counts`) that add up over disjoint sets of videos, so the
distributed validation sums each rank's counts and calls `metrics_from_counts`, the same code that scores a
whole test set (`classification_metrics`).
"""

import numpy as np


def topk_hits(scores, labels, k):
    """Per row of `scores` (N x C): whether its label is among the k highest scores (k capped at C)."""
    k = min(k, scores.shape[1])
    # argpartition leaves the k largest in the last k slots, in no particular order.
    top = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    return np.any(top == labels[:, None], axis=1)


def _as_arrays(scores, labels, num_classes=None):
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    num_classes = scores.shape[1] if num_classes is None else num_classes
    if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be class indices in [0, {num_classes}); got values from {labels.min()!r} "
                         f"to {labels.max()!r} (dtype {labels.dtype})")
    return scores, labels, num_classes


def metric_counts(scores, labels, num_classes=None):
    """The counts behind every metric, as a flat list of numbers that sums over disjoint sets of videos:
    [top-1 hits, top-5 hits, videos, correct top-1 per class (C), videos per class (C)].

    `num_classes` (C) defaults to the number of columns of `scores` (N x C).
    """
    scores, labels, num_classes = _as_arrays(scores, labels, num_classes)
    correct = scores.argmax(axis=1) == labels
    per_class_correct = np.bincount(labels[correct], minlength=num_classes)
    per_class_count = np.bincount(labels, minlength=num_classes)
    return [float(topk_hits(scores, labels, 1).sum()), float(topk_hits(scores, labels, 5).sum()),
            float(len(labels)), *map(float, per_class_correct), *map(float, per_class_count)]


def metrics_from_counts(counts, num_classes):
    """top1, top5, mean_class_acc (percent) and num_videos from `metric_counts` (or their sum over ranks).

    Mean class accuracy averages the top-1 recall of the classes that occur (absent classes have no recall).
    """
    if len(counts) != 3 + 2 * num_classes:
        raise ValueError(f"expected {3 + 2 * num_classes} counts for {num_classes} classes, got {len(counts)}")
    hits1, hits5, total = counts[:3]
    if total == 0:
        raise ValueError("no videos to score: the evaluation list is empty")
    correct = np.asarray(counts[3:3 + num_classes], dtype=np.float64)
    count = np.asarray(counts[3 + num_classes:], dtype=np.float64)
    present = count > 0
    return {
        "top1": float(100.0 * (hits1 / total)),
        "top5": float(100.0 * (hits5 / total)),
        "mean_class_acc": float(100.0 * np.mean(correct[present] / count[present])),
        "num_videos": int(total),
    }


def topk_accuracy(scores, labels, k):
    """Percentage of rows of `scores` (N x C) whose label is among the k highest scores (k capped at C)."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    return float(100.0 * np.mean(topk_hits(scores, labels, k)))


def mean_class_accuracy(scores, labels):
    """Top-1 recall averaged over the classes that occur in `labels` (absent classes have no recall)."""
    num_classes = np.asarray(scores).shape[1]
    return metrics_from_counts(metric_counts(scores, labels, num_classes), num_classes)["mean_class_acc"]


def classification_metrics(scores, labels):
    """The three numbers every scores file reports: top1, top5 and mean_class_acc, plus num_videos."""
    if len(scores) == 0:
        raise ValueError("no videos to score: the evaluation list is empty")
    num_classes = np.asarray(scores).shape[1]
    return metrics_from_counts(metric_counts(scores, labels, num_classes), num_classes)
