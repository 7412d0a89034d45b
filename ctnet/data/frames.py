"""What a finished frames folder holds, read without decoding a video: the size its frames are scaled to, the
number of frames of one video's folder and the extraction manifests. Apart from the extraction
(ctnet.data.extract, which writes both) because the frame index of the annotation parsers reads them, and the
workflow imports those parsers through the dataset registry when it plans a run: that chain must not load PyAV.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from .. import paths

# The short side of extracted frames in pixels, the TSM layout's (0 keeps a video's size): extract_frames.py's
# default and the workflow's for a source without `short_side:`.
SHORT_SIDE = 256


def count_frames(folder: Path, prefix: str = "img_") -> int:
    """Number of frame files (``<prefix>NNNNN.jpg``) in a finished video folder (its stamp is not one)."""
    with os.scandir(folder) as entries:
        return sum(1 for e in entries if e.name.startswith(prefix) and e.name.endswith(".jpg"))


def manifest_paths(frames_root: str | Path) -> list[Path]:
    """Every extraction manifest of ``frames_root`` (one per shard), sorted."""
    return sorted(Path(frames_root).glob(paths.MANIFEST_NAME.format(shard="*")))


def read_manifests(frames_root: str | Path) -> dict[str, int]:
    """``video_id -> num_frames`` from every manifest in ``frames_root`` (all shards)."""
    counts: dict[str, int] = {}
    for manifest in manifest_paths(frames_root):
        with open(manifest, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                counts[row["video_id"]] = int(row["num_frames"])
    return counts
