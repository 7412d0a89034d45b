import numpy as np
import pytest

from ctnet.data.sampling import (dense_test_indices, dense_train_indices, sparse_test_indices, sparse_train_indices,
                                 view_indices, train_indices)


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
    (("sparse", "random", 1, 20, 8, 8), "center, twice or uniform"),
    (("sparse", "center", 1, 0, 8, 8), "at least one frame"),
])
def test_bad_protocols_fail_clearly(args, message):
    with pytest.raises(ValueError, match=message):
        view_indices(*args)


def test_unknown_training_sampling():
    with pytest.raises(ValueError, match="sparse' or 'dense"):
        train_indices("random", 10, 8, 8, np.random.default_rng(0))
