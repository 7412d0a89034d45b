"""Which frames of a video make a clip: 0-based frame indices for training and for multi-view testing.

Two schemes, as in TSM and the CT-Net code:

- sparse (TSN segments, Something-Something): the video is cut into ``T`` equal segments and one frame is taken
  from each; a random frame per segment in training, the segment centre at test.
- dense (Kinetics): ``T`` frames ``stride`` apart inside a ``T * stride`` window; the window starts at a random
  position in training and at evenly spread positions for the test clips. Indices past the end wrap around, so
  short videos repeat frames instead of failing. With a fixed ``window`` W (``data.dense_window``, the official
  code's 64) the stride is ``max(1, W // T)`` and the start is drawn as the official code draws it.

And the official code's multi-clip test (``--dense-sample`` in its ``test_acc.py``), ``segment_spread``: despite
its name one frame per segment, the ``clips`` clips at integer offsets spread from each segment's start to
``tick - 1`` frames into it.

Every function returns an int64 array of shape ``(T,)`` (one clip) or ``(clips, T)`` (test views).
"""
from __future__ import annotations

import numpy as np


def _check(num_frames: int, num_segments: int) -> None:
    if num_frames < 1:
        raise ValueError(f"a video needs at least one frame to sample from, got num_frames={num_frames}")
    if num_segments < 1:
        raise ValueError(f"num_segments must be positive, got {num_segments}")


def sparse_train_indices(num_frames: int, num_segments: int, rng: np.random.Generator) -> np.ndarray:
    """One random frame in each of ``num_segments`` equal segments (TSN training sampling)."""
    _check(num_frames, num_segments)
    if num_frames < num_segments:
        # Fewer frames than segments: every frame in order, some repeated, as a uniform spread would give.
        return np.arange(num_segments, dtype=np.int64) * num_frames // num_segments
    # Segment k covers [k * L / T, (k + 1) * L / T); its bounds are rounded so that every frame belongs to one.
    bounds = np.arange(num_segments + 1, dtype=np.int64) * num_frames // num_segments
    lengths = bounds[1:] - bounds[:-1]
    return bounds[:-1] + (rng.random(num_segments) * lengths).astype(np.int64)


def sparse_test_indices(num_frames: int, num_segments: int, offsets=(0.5,)) -> np.ndarray:
    """Segment-relative positions ``offsets`` (0 = segment start, 0.5 = centre), one clip per offset.

    ``(0.5,)`` is the standard centre clip, ``(0.5, 0.0)`` the official code's ``twice`` sampling.
    """
    _check(num_frames, num_segments)
    tick = num_frames / num_segments
    positions = (np.asarray(offsets, dtype=np.float64)[:, None] + np.arange(num_segments)[None, :]) * tick
    # (clips, T); min() guards against float round-up at the last frame
    return np.minimum(positions.astype(np.int64), num_frames - 1)


def dense_layout(num_segments: int, stride: int, window: int | None = None) -> tuple[int, int]:
    """``(stride, window)`` of a dense clip: ``window=None`` gives ``stride`` and ``T * stride``; a fixed
    ``window`` W gives the official code's stride ``W // T`` (at least 1) and W itself."""
    if window is None:
        return stride, num_segments * stride
    if window < 1:
        raise ValueError(f"a dense window must be a positive number of frames, got {window}")
    return max(1, window // num_segments), window


def dense_train_indices(num_frames: int, num_segments: int, stride: int, rng: np.random.Generator,
                        window: int | None = None) -> np.ndarray:
    """``num_segments`` frames ``stride`` apart from a random start (the Kinetics training sampling).

    ``window=None``: the start is uniform in ``[0, num_frames - T * stride]``. A fixed ``window`` W, as the
    official code (``ops/dataset_origin.py:119-124``, W = 64): stride ``W // T``, start uniform in
    ``[0, num_frames - W - 1]`` (its ``randint`` excludes ``num_frames - W``), 0 when ``num_frames <= W``."""
    _check(num_frames, num_segments)
    stride, span = dense_layout(num_segments, stride, window)
    if window is None:
        start = int(rng.integers(0, num_frames - span + 1)) if num_frames > span else 0
    else:
        start = int(rng.integers(0, num_frames - span)) if num_frames > span else 0
    return (start + np.arange(num_segments, dtype=np.int64) * stride) % num_frames


def dense_test_indices(num_frames: int, num_segments: int, stride: int, num_clips: int,
                       window: int | None = None) -> np.ndarray:
    """``num_clips`` dense clips whose windows are spread evenly over the video, first and last at the ends
    (``window`` as in :func:`dense_train_indices`; one clip with W = 64 is the official validation clip,
    start ``(num_frames - 64) // 2``, ``ops/dataset_origin.py:136-142``)."""
    _check(num_frames, num_segments)
    stride, window = dense_layout(num_segments, stride, window)
    last_start = max(num_frames - window, 0)
    if num_clips == 1:
        starts = np.array([last_start // 2], dtype=np.int64)
    else:
        starts = np.round(np.linspace(0, last_start, num_clips)).astype(np.int64)
    return (starts[:, None] + np.arange(num_segments, dtype=np.int64)[None, :] * stride) % num_frames


def segment_spread_indices(num_frames: int, num_segments: int, num_clips: int) -> np.ndarray:
    """The official multi-clip test (``ops/dataset_origin.py:161-166``, 4 clips there): with
    ``tick = num_frames / T``, clip k takes ``int(x * tick + s_k)`` in segment x, where the offsets ``s_k`` are
    ``linspace(0, tick - 1, num_clips)`` truncated to integers (toward zero, as numpy 1.x's ``dtype=int``)."""
    _check(num_frames, num_segments)
    if num_clips < 1:
        raise ValueError(f"num_clips must be positive, got {num_clips}")
    tick = num_frames / num_segments
    # astype truncates toward zero: a video shorter than T frames (tick - 1 < 0) gets offsets 0, as in numpy 1.x
    # (numpy 2's linspace(dtype=int) floors them to -1).
    offsets = np.linspace(0.0, tick - 1.0, num_clips).astype(np.int64)
    positions = np.arange(num_segments, dtype=np.int64)[None, :] * tick + offsets[:, None]
    return np.minimum(positions.astype(np.int64), num_frames - 1)  # (clips, T); min() only guards float round-up


def train_indices(sampling: str, num_frames: int, num_segments: int, stride: int,
                  rng: np.random.Generator, window: int | None = None) -> np.ndarray:
    """Training clip indices for the ``data.sampling`` scheme (``sparse`` or ``dense``; ``window``: see
    :func:`dense_train_indices`)."""
    if sampling == "sparse":
        return sparse_train_indices(num_frames, num_segments, rng)
    if sampling == "dense":
        return dense_train_indices(num_frames, num_segments, stride, rng, window)
    raise ValueError(f"data.sampling must be 'sparse' or 'dense', got {sampling!r}")


def view_indices(sampling: str, clip_sampling: str, num_clips: int, num_frames: int, num_segments: int,
                 stride: int, window: int | None = None) -> np.ndarray:
    """``(num_clips, T)`` indices for a test protocol's ``clip_sampling`` (center | twice | uniform |
    segment_spread); ``window``: the dense window of :func:`dense_train_indices`."""
    if clip_sampling == "segment_spread":
        # The official --dense-sample test: the same frames whatever the training sampling.
        return segment_spread_indices(num_frames, num_segments, num_clips)
    if clip_sampling == "twice":
        if num_clips != 2:
            raise ValueError(f"clip_sampling 'twice' gives 2 clips, but the protocol asks for clips={num_clips}")
        if sampling != "sparse":
            raise ValueError("clip_sampling 'twice' is defined for sparse sampling; use 'uniform' with dense")
        return sparse_test_indices(num_frames, num_segments, offsets=(0.5, 0.0))
    if clip_sampling == "center" and num_clips != 1:
        raise ValueError(f"clip_sampling 'center' gives 1 clip, but the protocol asks for clips={num_clips}; "
                         "use 'uniform' for several clips")
    if clip_sampling not in ("center", "uniform"):
        raise ValueError(f"clip_sampling must be center, twice, uniform or segment_spread, got {clip_sampling!r}")
    if sampling == "dense":
        return dense_test_indices(num_frames, num_segments, stride, num_clips, window)
    if sampling == "sparse":
        # N sparse clips: the segment-relative offset moves evenly through the segment, 1 clip = the centre.
        return sparse_test_indices(num_frames, num_segments, offsets=(np.arange(num_clips) + 0.5) / num_clips)
    raise ValueError(f"data.sampling must be 'sparse' or 'dense', got {sampling!r}")
