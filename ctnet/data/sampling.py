"""Which frames of a video make a clip: 0-based frame indices for training and for multi-view testing.

Two schemes, as in TSM and the CT-Net code:

- sparse (TSN segments, Something-Something): the video is cut into ``T`` equal segments and one frame is taken
  from each; a random frame per segment in training, the segment centre at test.
- dense (Kinetics): ``T`` frames ``stride`` apart inside a ``T * stride`` window; the window starts at a random
  position in training and at evenly spread positions for the test clips. Indices past the end wrap around, so
  short videos repeat frames instead of failing.

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


def dense_train_indices(num_frames: int, num_segments: int, stride: int, rng: np.random.Generator) -> np.ndarray:
    """``num_segments`` frames ``stride`` apart from a random start (the Kinetics training sampling)."""
    _check(num_frames, num_segments)
    window = num_segments * stride
    start = int(rng.integers(0, num_frames - window + 1)) if num_frames > window else 0
    return (start + np.arange(num_segments, dtype=np.int64) * stride) % num_frames


def dense_test_indices(num_frames: int, num_segments: int, stride: int, num_clips: int) -> np.ndarray:
    """``num_clips`` dense clips whose windows are spread evenly over the video, first and last at the ends."""
    _check(num_frames, num_segments)
    window = num_segments * stride
    last_start = max(num_frames - window, 0)
    if num_clips == 1:
        starts = np.array([last_start // 2], dtype=np.int64)
    else:
        starts = np.round(np.linspace(0, last_start, num_clips)).astype(np.int64)
    return (starts[:, None] + np.arange(num_segments, dtype=np.int64)[None, :] * stride) % num_frames


def train_indices(sampling: str, num_frames: int, num_segments: int, stride: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Training clip indices for the ``data.sampling`` scheme (``sparse`` or ``dense``)."""
    if sampling == "sparse":
        return sparse_train_indices(num_frames, num_segments, rng)
    if sampling == "dense":
        return dense_train_indices(num_frames, num_segments, stride, rng)
    raise ValueError(f"data.sampling must be 'sparse' or 'dense', got {sampling!r}")


def view_indices(sampling: str, clip_sampling: str, num_clips: int, num_frames: int, num_segments: int,
                 stride: int) -> np.ndarray:
    """``(num_clips, T)`` indices for a test protocol's ``clip_sampling`` (center | twice | uniform)."""
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
        raise ValueError(f"clip_sampling must be center, twice or uniform, got {clip_sampling!r}")
    if sampling == "dense":
        return dense_test_indices(num_frames, num_segments, stride, num_clips)
    if sampling == "sparse":
        # N sparse clips: the segment-relative offset moves evenly through the segment, 1 clip = the centre.
        return sparse_test_indices(num_frames, num_segments, offsets=(np.arange(num_clips) + 0.5) / num_clips)
    raise ValueError(f"data.sampling must be 'sparse' or 'dense', got {sampling!r}")
