"""Classification metrics over per-video scores: top-k accuracy and mean class accuracy, in percent."""

import numpy as np


def topk_accuracy(scores, labels, k):
    """Percentage of rows of `scores` (N x C) whose label is among the k highest scores (k capped at C)."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    k = min(k, scores.shape[1])
    # argpartition leaves the k largest in the last k slots, in no particular order.
    top = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    return float(100.0 * np.mean(np.any(top == labels[:, None], axis=1)))


def mean_class_accuracy(scores, labels):
    """Top-1 recall averaged over the classes that occur in `labels` (absent classes have no recall)."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    correct = scores.argmax(axis=1) == labels
    present = np.unique(labels)
    return float(100.0 * np.mean([correct[labels == c].mean() for c in present]))


def classification_metrics(scores, labels):
    """The three numbers every scores file reports: top1, top5 and mean_class_acc, plus num_videos."""
    if len(scores) == 0:
        raise ValueError("no videos to score: the evaluation list is empty")
    return {
        "top1": topk_accuracy(scores, labels, 1),
        "top5": topk_accuracy(scores, labels, 5),
        "mean_class_acc": mean_class_accuracy(scores, labels),
        "num_videos": int(len(labels)),
    }
