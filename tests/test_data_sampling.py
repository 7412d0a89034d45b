import numpy as np
import pytest

from ctnet.data.sampling import (dense_layout, dense_test_indices, dense_train_indices, segment_spread_indices,
                                 sparse_test_indices, sparse_train_indices, view_indices, train_indices)
from ctnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from ctnet.data.spec import DATA_DEFAULTS


def test_sparse_train_takes_one_frame_per_segment():
    rng = np.random.default_rng(0)
    bounds = [0, 2, 5, 7, 10, 12, 15, 17, 20]  # 20 frames cut into 8 segments
    seen = set()
    for _ in range(200):
        idx = sparse_train_indices(20, 8, rng)
        assert idx.dtype == np.int64 and idx.shape == (8,)
        for k, i in enumerate(idx):
            assert bounds[k] <= i < bounds[k + 1]
        seen.update(idx.tolist())
    assert seen == set(range(20))  # every frame can be drawn


def test_sparse_train_short_video_repeats_frames_in_order():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(sparse_train_indices(5, 8, rng), [0, 0, 1, 1, 2, 3, 3, 4])
    np.testing.assert_array_equal(sparse_train_indices(1, 4, rng), [0, 0, 0, 0])


def test_sparse_test_centre_and_twice():
    np.testing.assert_array_equal(sparse_test_indices(20, 8), [[1, 3, 6, 8, 11, 13, 16, 18]])
    np.testing.assert_array_equal(sparse_test_indices(5, 8), [[0, 0, 1, 2, 2, 3, 4, 4]])
    np.testing.assert_array_equal(view_indices("sparse", "twice", 2, 20, 8, 8),
                                  [[1, 3, 6, 8, 11, 13, 16, 18], [0, 2, 5, 7, 10, 12, 15, 17]])
    np.testing.assert_array_equal(view_indices("sparse", "center", 1, 16, 4, 8), [[2, 6, 10, 14]])


def test_dense_train_window_inside_long_video():
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(200):
        idx = dense_train_indices(100, 8, 8, rng)
        np.testing.assert_array_equal(np.diff(idx), np.full(7, 8))
        assert 0 <= idx[0] <= 100 - 64 and idx[-1] < 100
        starts.add(int(idx[0]))
    assert min(starts) == 0 and max(starts) == 36


def test_dense_short_video_wraps_around():
    rng = np.random.default_rng(0)
    expected = [0, 8, 16, 24, 2, 10, 18, 26]  # 30 frames, stride 8: positions modulo 30
    np.testing.assert_array_equal(dense_train_indices(30, 8, 8, rng), expected)
    np.testing.assert_array_equal(dense_test_indices(30, 8, 8, 4), [expected] * 4)


def test_dense_uniform_test_clips_spread_over_video():
    idx = view_indices("dense", "uniform", 4, 300, 8, 8)
    np.testing.assert_array_equal(idx[:, 0], [0, 79, 157, 236])
    np.testing.assert_array_equal(idx[3], 236 + 8 * np.arange(8))
    np.testing.assert_array_equal(view_indices("dense", "center", 1, 164, 8, 8)[0], 50 + 8 * np.arange(8))


def test_sparse_uniform_clips_shift_inside_segments():
    np.testing.assert_array_equal(view_indices("sparse", "uniform", 2, 16, 4, 8), [[1, 5, 9, 13], [3, 7, 11, 15]])


@pytest.mark.parametrize("args, message", [
    (("sparse", "twice", 3, 20, 8, 8), "gives 2 clips"),
    (("dense", "twice", 2, 20, 8, 8), "use 'uniform'"),
    (("sparse", "center", 4, 20, 8, 8), "use 'uniform'"),
    (("sparse", "random", 1, 20, 8, 8), "center, twice, uniform or segment_spread"),
    (("sparse", "center", 1, 0, 8, 8), "at least one frame"),
])
def test_bad_protocols_fail_clearly(args, message):
    with pytest.raises(ValueError, match=message):
        view_indices(*args)


def test_unknown_training_sampling():
    with pytest.raises(ValueError, match="sparse' or 'dense"):
        train_indices("random", 10, 8, 8, np.random.default_rng(0))


# ---- data.dense_window and clip_sampling: segment_spread, the official code's rules (Andy1621/CT-Net,
# ops/dataset_origin.py). Expected indices below are worked out by hand from its formulas.

class _RecordingRng:
    """Stands for np.random.Generator: records the bounds of integers() and returns its largest value."""

    def __init__(self):
        self.calls = []

    def integers(self, low, high):
        self.calls.append((low, high))
        return high - 1


def test_dense_window_stride_is_window_over_frames():
    assert dense_layout(8, 8) == (8, 64) and dense_layout(16, 8) == (8, 128)  # null: dense_stride, as today
    assert dense_layout(8, 8, 64) == (8, 64)
    assert dense_layout(16, 8, 64) == (4, 64)
    assert dense_layout(12, 8, 64) == (5, 64)  # 64 // 12
    assert dense_layout(32, 8, 16) == (1, 16)  # max(1, 16 // 32)


@pytest.mark.parametrize("num_frames, num_segments, window, last_start, stride", [
    (100, 16, 64, 35, 4),  # randint(0, 100 - 64): starts 0..35, never 36
    (100, 8, 64, 35, 8),
    (100, 12, 64, 35, 5),
    (65, 8, 64, 0, 8),  # randint(0, 1) = 0
])
def test_dense_window_train_start_as_official(num_frames, num_segments, window, last_start, stride):
    # official: sample_pos = max(1, 1 + n - 64); start = 0 if sample_pos == 1 else randint(0, sample_pos - 1)
    rng = _RecordingRng()
    idx = dense_train_indices(num_frames, num_segments, 8, rng, window=window)
    assert rng.calls == [(0, num_frames - window)]  # exclusive upper bound, as numpy's randint
    np.testing.assert_array_equal(idx, last_start + stride * np.arange(num_segments))
    starts = {int(dense_train_indices(num_frames, num_segments, 8, np.random.default_rng(s), window)[0])
              for s in range(400)}
    assert starts == set(range(last_start + 1))


def test_dense_window_short_videos_start_at_zero_and_wrap():
    rng = _RecordingRng()
    # 30 frames, T = 16, W = 64: stride 4, start 0, positions 4k modulo 30
    np.testing.assert_array_equal(dense_train_indices(30, 16, 8, rng, window=64),
                                  [0, 4, 8, 12, 16, 20, 24, 28, 2, 6, 10, 14, 18, 22, 26, 0])
    # 64 frames (sample_pos 1): start 0, no draw
    np.testing.assert_array_equal(dense_train_indices(64, 16, 8, rng, window=64), 4 * np.arange(16))
    assert rng.calls == []
    np.testing.assert_array_equal(train_indices("dense", 30, 16, 8, np.random.default_rng(0), window=64),
                                  [0, 4, 8, 12, 16, 20, 24, 28, 2, 6, 10, 14, 18, 22, 26, 0])


def test_dense_window_test_clips():
    # 1 clip = the official validation clip: start (n - 64) // 2 (ops/dataset_origin.py _get_val_indices)
    np.testing.assert_array_equal(view_indices("dense", "center", 1, 165, 16, 8, window=64),
                                  [50 + 4 * np.arange(16)])
    np.testing.assert_array_equal(view_indices("dense", "center", 1, 50, 16, 8, window=64),
                                  [(4 * np.arange(16)) % 50])
    # uniform: windows of 64 spread from 0 to n - 64
    idx = view_indices("dense", "uniform", 4, 300, 16, 8, window=64)
    np.testing.assert_array_equal(idx[:, 0], [0, 79, 157, 236])
    np.testing.assert_array_equal(idx[3], 236 + 4 * np.arange(16))
    np.testing.assert_array_equal(dense_test_indices(300, 16, 8, 4, window=64), idx)


def test_segment_spread_is_the_official_multi_clip_test():
    # tick = 300 / 8 = 37.5; offsets int(linspace(0, 36.5, 4)) = 0, 12, 24, 36; clip k: int(x * 37.5 + offset_k)
    expected = [[0, 37, 75, 112, 150, 187, 225, 262],
                [12, 49, 87, 124, 162, 199, 237, 274],
                [24, 61, 99, 136, 174, 211, 249, 286],
                [36, 73, 111, 148, 186, 223, 261, 298]]
    for sampling in ("dense", "sparse"):  # the same frames whatever the training sampling
        np.testing.assert_array_equal(view_indices(sampling, "segment_spread", 4, 300, 8, 8), expected)
        np.testing.assert_array_equal(view_indices(sampling, "segment_spread", 4, 300, 8, 8, window=64), expected)
    # tick = 40 / 16 = 2.5; offsets int(linspace(0, 1.5, 4)) = 0, 0, 1, 1
    clip0 = [0, 2, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27, 30, 32, 35, 37]
    np.testing.assert_array_equal(segment_spread_indices(40, 16, 4), [clip0, clip0, np.add(clip0, 1),
                                                                      np.add(clip0, 1)])
    np.testing.assert_array_equal(segment_spread_indices(300, 8, 2), [expected[0], expected[3]])
    np.testing.assert_array_equal(segment_spread_indices(300, 8, 1), [expected[0]])


def test_segment_spread_video_shorter_than_the_clip():
    # 5 frames, T = 8: tick 0.625, linspace(0, -0.375, 4) truncated (numpy 1.x) = 0 for every clip
    np.testing.assert_array_equal(segment_spread_indices(5, 8, 4), [[0, 0, 1, 1, 2, 3, 3, 4]] * 4)
    np.testing.assert_array_equal(segment_spread_indices(1, 8, 4), np.zeros((4, 8)))
    with pytest.raises(ValueError, match="num_clips"):
        segment_spread_indices(10, 8, 0)


def _today_dense_train(num_frames, num_segments, stride, rng):
    # The rule before data.dense_window, written out: window T * stride, start uniform in [0, n - window].
    window = num_segments * stride
    start = int(rng.integers(0, num_frames - window + 1)) if num_frames > window else 0
    return (start + np.arange(num_segments) * stride) % num_frames


def _today_dense_test(num_frames, num_segments, stride, num_clips):
    last_start = max(num_frames - num_segments * stride, 0)
    starts = (np.array([last_start // 2]) if num_clips == 1
              else np.round(np.linspace(0, last_start, num_clips)).astype(np.int64))
    return (starts[:, None] + np.arange(num_segments)[None, :] * stride) % num_frames


@pytest.mark.parametrize("num_frames, num_segments, stride", [
    (300, 8, 8), (300, 16, 8), (100, 16, 4), (64, 8, 8), (65, 8, 8), (30, 16, 8), (5, 8, 2), (1, 4, 8)])
def test_default_dense_window_keeps_todays_indices(num_frames, num_segments, stride):
    assert DATA_DEFAULTS["dense_window"] is None and DATA_DEFAULTS["dense_stride"] == 8
    rng_new, rng_old = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(20):  # same draws from the same generator state
        np.testing.assert_array_equal(train_indices("dense", num_frames, num_segments, stride, rng_new,
                                                    DATA_DEFAULTS["dense_window"]),
                                      _today_dense_train(num_frames, num_segments, stride, rng_old))
    for clips, sampling in ((1, "center"), (4, "uniform"), (10, "uniform")):
        np.testing.assert_array_equal(view_indices("dense", sampling, clips, num_frames, num_segments, stride,
                                                   DATA_DEFAULTS["dense_window"]),
                                      _today_dense_test(num_frames, num_segments, stride, clips))
    assert rng_new.random() == rng_old.random()


def _write_frames(folder, count, size=(24, 32)):
    from PIL import Image
    folder.mkdir(parents=True)
    for i in range(count):  # frame i is a flat grey of value 2 * i, which JPEG keeps to within a level or two
        Image.new("RGB", size[::-1], (2 * i,) * 3).save(folder / f"img_{i + 1:05d}.jpg", quality=95)


def test_dataset_passes_dense_window_and_resize_on(tmp_path):
    from ctnet.data import build_dataset
    _write_frames(tmp_path / "frames" / "v", 100)
    (tmp_path / "list.txt").write_text("v 100 0\n")
    (tmp_path / "classes.txt").write_text("a\n")
    cfg = {"frames_root": str(tmp_path / "frames"), "train_list": str(tmp_path / "list.txt"),
           "val_list": str(tmp_path / "list.txt"), "classes": str(tmp_path / "classes.txt"),
           "num_frames": 16, "sampling": "dense", "dense_window": 64, "train_size": 16}
    protocol = {"clips": 1, "clip_sampling": "center", "crops": 1, "size": 16, "resize": 20}
    views, _, _ = build_dataset(cfg, "val", protocol)[0]
    assert views.shape == (1, 3, 16, 16, 16)
    grey = views[0, 0, :, 8, 8] * IMAGENET_STD[0] + IMAGENET_MEAN[0]  # back to [0, 1]
    frames = np.round(grey.numpy() * 255 / 2).astype(int)
    np.testing.assert_array_equal(frames, 18 + 4 * np.arange(16))  # start (100 - 64) // 2, stride 64 // 16
    train = build_dataset(cfg, "train")
    assert train.dense_window == 64 and train[0][0].shape == (3, 16, 16, 16)
    default = build_dataset({**cfg, "dense_window": None}, "val", {**protocol, "resize": None})
    assert default.dense_window is None and default.test_transform.resize is None
    views, _, _ = default[0]  # dense_stride 8: window 128 > 100 frames, start 0, wrapping
    grey = views[0, 0, :, 8, 8] * IMAGENET_STD[0] + IMAGENET_MEAN[0]
    np.testing.assert_array_equal(np.round(grey.numpy() * 255 / 2).astype(int), (8 * np.arange(16)) % 100)
