"""Scores files, metrics and fusion on hand-made scores whose accuracies are computed by hand."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ctnet.engine.metrics import (classification_metrics, mean_class_accuracy, metric_counts, metrics_from_counts,
                                  topk_accuracy)
from ctnet.engine.scores import ScoresError, fuse_scores, load_scores, save_scores

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["a", "b", "c"]


def write(path, ids, labels, scores, classes=CLASSES):
    save_scores(path, ids, labels, np.array(scores, dtype=np.float32), classes, protocol="1x1", experiment="e")
    return path


def test_topk_and_mean_class_accuracy_by_hand():
    scores = np.array([[0.9, 0.1, 0.0],   # label 0: right
                       [0.2, 0.5, 0.3],   # label 2: wrong, second
                       [0.1, 0.3, 0.6],   # label 2: right
                       [0.5, 0.4, 0.1]])  # label 1: wrong, second
    labels = np.array([0, 2, 2, 1])
    assert topk_accuracy(scores, labels, 1) == pytest.approx(50.0)
    assert topk_accuracy(scores, labels, 2) == pytest.approx(100.0)
    assert topk_accuracy(scores, labels, 5) == pytest.approx(100.0)  # k capped at the 3 classes
    # class 0: 1/1, class 1: 0/1, class 2: 1/2 -> (100 + 0 + 50) / 3
    assert mean_class_accuracy(scores, labels) == pytest.approx(50.0)


def test_counts_summed_over_shards_give_the_metrics_of_the_whole_set():
    """Distributed validation sums each rank's `metric_counts`: the same numbers as `classification_metrics`."""
    rng = np.random.default_rng(0)
    for num_classes, tied in ((3, False), (7, False), (7, True), (174, False)):
        scores = rng.standard_normal((101, num_classes)).astype(np.float32)
        if tied:  # few distinct values, as low-precision logits: ties for the top ranks
            scores = np.round(scores).astype(np.float32)
        labels = rng.integers(0, num_classes - 1, size=101)  # the last class never occurs
        expected = classification_metrics(scores, labels)
        for world in (1, 2, 4):
            counts = [metric_counts(scores[rank::world], labels[rank::world], num_classes) for rank in range(world)]
            summed = [sum(column) for column in zip(*counts)]
            assert metrics_from_counts(summed, num_classes) == expected, (num_classes, tied, world)
        assert expected["top1"] == topk_accuracy(scores, labels, 1)
        assert expected["top5"] == topk_accuracy(scores, labels, 5)
        assert expected["mean_class_acc"] == mean_class_accuracy(scores, labels)


def test_counts_by_hand():
    scores = np.array([[0.9, 0.1, 0.0, 0.0],   # label 0: right
                       [0.2, 0.5, 0.3, 0.0],   # label 2: second
                       [0.1, 0.3, 0.6, 0.0]])  # label 2: right
    counts = metric_counts(scores, [0, 2, 2], 4)
    # top-1 hits, top-5 hits (k capped at 4 classes), videos, correct per class, videos per class
    assert counts == [2, 3, 3, 1, 0, 1, 0, 1, 0, 2, 0]
    metrics = metrics_from_counts(counts, 4)
    # classes 1 and 3 do not occur: the mean is over classes 0 (1/1) and 2 (1/2)
    assert metrics == {"top1": pytest.approx(200 / 3), "top5": 100.0, "mean_class_acc": 75.0, "num_videos": 3}
    with pytest.raises(ValueError, match="class indices"):
        metric_counts(scores, [0, 2, 4], 4)
    with pytest.raises(ValueError, match="empty"):
        classification_metrics(np.zeros((0, 4)), [])


def test_fusion_gives_hand_computed_accuracy(tmp_path):
    ids = ["v0", "v1", "v2", "v3"]
    labels = [0, 1, 2, 0]
    # Model A is right on v0, v1; model B on v2, v3. Their mean: v0 [.6 .2 0] right, v1 [0 .8 .4] right,
    # v2 [.5 0 .6] right, v3 [.45 0 .5] wrong -> 75%.
    a = write(tmp_path / "a.npz", ids, labels, [[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0], [0, 0, 1.0]])
    b = write(tmp_path / "b.npz", ids, labels, [[0.2, 0.4, 0], [0, 0.6, 0.8], [0, 0, 1.2], [0.9, 0, 0]])
    fused_ids, fused_labels, scores, classes = fuse_scores([a, b])
    assert fused_ids.tolist() == ids and fused_labels.tolist() == labels and classes.tolist() == CLASSES
    np.testing.assert_allclose(scores[3], [0.45, 0.0, 0.5])
    assert classification_metrics(scores, fused_labels)["top1"] == pytest.approx(75.0)
    # Weights 1:3: v0 [.4 .3 0], v1 [0 .7 .6], v2 [.25 0 .9], v3 [.675 0 .25] -> all right.
    _, _, weighted, _ = fuse_scores([a, b], weights=[1, 3])
    np.testing.assert_allclose(weighted, [[0.4, 0.3, 0], [0, 0.7, 0.6], [0.25, 0, 0.9], [0.675, 0, 0.25]],
                               rtol=1e-6)
    assert classification_metrics(weighted, fused_labels)["top1"] == pytest.approx(100.0)


def test_fusion_aligns_reordered_ids_and_can_average_probabilities(tmp_path):
    a = write(tmp_path / "a.npz", ["x", "y"], [0, 1], [[2.0, 0, 0], [0, 2.0, 0]])
    b = write(tmp_path / "b.npz", ["y", "x"], [1, 0], [[0, 0, 2.0], [0, 0, 2.0]])
    ids, _, scores, _ = fuse_scores([a, b])
    assert ids.tolist() == ["x", "y"]
    np.testing.assert_allclose(scores, [[1.0, 0, 1.0], [0, 1.0, 1.0]])
    _, _, probs, _ = fuse_scores([a, b], average="softmax")
    np.testing.assert_allclose(probs.sum(axis=1), [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("ids, labels, classes, message", [
    (["v0", "v9"], [0, 1], CLASSES, "video ids do not match"),
    (["v0", "v1"], [0, 2], CLASSES, "labels differ"),
    (["v0", "v1"], [0, 1], ["a", "b", "z"], "class names differ"),
])
def test_fusion_refuses_misaligned_files(tmp_path, ids, labels, classes, message):
    a = write(tmp_path / "a.npz", ["v0", "v1"], [0, 1], np.eye(2, 3))
    b = write(tmp_path / "b.npz", ids, labels, np.eye(2, 3), classes=classes)
    with pytest.raises(ScoresError, match=message) as err:
        fuse_scores([a, b])
    assert str(b) in str(err.value)


def test_fusion_refuses_wrong_weight_count(tmp_path):
    a = write(tmp_path / "a.npz", ["v0"], [0], [[1.0, 0, 0]])
    with pytest.raises(ScoresError, match="1 scores files"):
        fuse_scores([a], weights=[1, 2])


def test_scores_file_format_round_trip(tmp_path):
    path = write(tmp_path / "s.npz", ["v0", "v1"], [0, 2], [[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])
    data = load_scores(path)
    assert data["video_ids"].tolist() == ["v0", "v1"] and data["labels"].dtype == np.int64
    assert data["scores"].dtype == np.float32 and data["class_names"].tolist() == CLASSES
    metrics = json.loads(path.with_suffix(".json").read_text())
    assert metrics == {"top1": 50.0, "top5": 100.0, "mean_class_acc": 50.0, "num_videos": 2,
                       "protocol": "1x1", "experiment": "e"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.npz"]  # no temporary files left


def test_fuse_script_writes_files_and_refuses_misaligned_ids(tmp_path):
    a = write(tmp_path / "a.npz", ["v0", "v1"], [0, 1], [[1.0, 0, 0], [1.0, 0, 0]])
    b = write(tmp_path / "b.npz", ["v0", "v1"], [0, 1], [[0, 0, 0], [0, 3.0, 0]])
    out = tmp_path / "f.npz"
    done = subprocess.run([sys.executable, REPO / "scripts/fuse.py", "--scores", a, b, "--out", out],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.with_suffix(".json").read_text())["top1"] == 100.0
    c = write(tmp_path / "c.npz", ["v0", "v2"], [0, 1], [[1.0, 0, 0], [1.0, 0, 0]])
    done = subprocess.run([sys.executable, REPO / "scripts/fuse.py", "--scores", a, c, "--out", tmp_path / "g.npz"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "video ids do not match" in done.stderr
    assert not (tmp_path / "g.npz").exists()


@pytest.mark.parametrize("content", ["truncated", "text", "npy", "pickle"])
def test_unreadable_scores_file_is_one_line_naming_it(tmp_path, content):
    good = write(tmp_path / "good.npz", ["v1", "v2"], [0, 1], [[1, 0, 0], [0, 1, 0]])
    bad = tmp_path / "bad.npz"
    if content == "truncated":
        bad.write_bytes(good.read_bytes()[:-40])
    elif content == "text":
        bad.write_text("video,score\n")
    elif content == "npy":
        with open(bad, "wb") as handle:
            np.save(handle, np.eye(3))
    else:
        bad.write_bytes(b"\x80\x04\x95" + bytes(64))
    with pytest.raises(ScoresError) as err:
        fuse_scores([good, bad])
    message = str(err.value)
    assert message.startswith(f"{bad}: not a readable scores file") and "\n" not in message
    assert "allow_pickle" not in message
