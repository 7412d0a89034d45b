"""Frame extraction: videos -> ``<out>/<video_id>/img_00001.jpg ...`` (the TSM layout), a manifest and a
failures list. Sharded (``shard=(i, n)``) so that each SLURM array task handles its own slice of a large
dataset; re-runs skip finished videos; a video's folder only appears, by rename, once all its frames are written.
A broken video never stops a shard: real downloads always hold some, so only a failed share above a threshold
(``failures_exceed``) is an error.
"""
from __future__ import annotations

import csv
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterable, NamedTuple

from .. import paths
from ..atomic import atomic_path
from ..progress import progress_bar
from .video import VideoDecodeError, decode_frames

VIDEO_SUFFIXES = {".mp4", ".webm", ".avi", ".mkv", ".mov", ".m4v", ".flv", ".3gp", ".mpg", ".mpeg"}
FRAME_TMPL = "img_{:05d}.jpg"


class Outcome(NamedTuple):
    video_id: str
    path: str
    num_frames: int  # 0 when it failed
    reason: str  # empty when it succeeded


def list_videos(videos: str | Path) -> list[Path]:
    """The videos of a folder (searched recursively, by suffix) or of a list file (one path per line, relative
    paths taken from the list file's folder), sorted so that every shard sees the same order."""
    videos = Path(videos)
    if videos.is_dir():
        # Hidden files are partial writes (e.g. make_synthetic's temporary videos), never inputs.
        paths = [p for p in videos.rglob("*")
                 if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".") and p.is_file()]
    elif videos.is_file():
        with open(videos, encoding="utf-8") as f:
            paths = [videos.parent / line.strip() for line in f if line.strip()]
    else:
        raise FileNotFoundError(f"--videos {videos}: no such folder or list file")
    if not paths:
        # A shard may get no videos (fewer videos than shards), but an empty listing is a wrong --videos.
        raise ValueError(f"--videos {videos}: " + (
            f"no videos found (looked for {', '.join(sorted(VIDEO_SUFFIXES))}, in subfolders too); point it at "
            "the folder of the downloaded videos" if videos.is_dir() else "the list file names no videos"))
    paths = sorted(paths)
    seen: dict[str, Path] = {}
    for path in paths:
        if path.stem in seen:
            raise ValueError(f"two videos share the id {path.stem!r}: {seen[path.stem]} and {path}; frame folders "
                             "are named by id, so rename or drop one")
        seen[path.stem] = path
    return paths


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like I/N (e.g. 0/16), got {text!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"--shard {text}: I must be in 0..N-1")
    return index, count


def failures_exceed(failed: int, total: int, max_fraction: float) -> bool:
    """Whether a shard's failed share is above ``max_fraction`` (0: any failure; 1: never). A few broken videos
    are normal in a download; many mean a wrong input or a missing codec."""
    return total > 0 and failed / total > max_fraction


def count_frames(folder: Path, prefix: str = "img_") -> int:
    """Number of frame files (``<prefix>NNNNN.jpg``) in a finished video folder."""
    with os.scandir(folder) as entries:
        return sum(1 for e in entries if e.name.startswith(prefix) and e.name.endswith(".jpg"))


def extract_video(path: str | Path, out_root: str | Path, short_side: int = 256, quality: int = 90) -> Outcome:
    """Extract one video to ``out_root/<id>/``; an existing folder means done. Never raises for a bad video:
    the reason goes into the returned ``Outcome``."""
    path, out_root = Path(path), Path(out_root)
    video_id = path.stem
    final = out_root / video_id
    if final.is_dir():
        return Outcome(video_id, str(path), count_frames(final), "")
    tmp = out_root / f".tmp_{video_id}"
    # A leftover from a killed run of this shard (ids are unique, so no other shard writes here)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    count = 0
    try:
        for count, frame in enumerate(decode_frames(path, short_side), 1):
            frame.to_image().save(tmp / FRAME_TMPL.format(count), quality=quality)
    except (VideoDecodeError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = str(exc) if isinstance(exc, VideoDecodeError) else f"{type(exc).__name__}: {exc}"
        return Outcome(video_id, str(path), 0, reason.replace("\n", " "))
    os.replace(tmp, final)
    return Outcome(video_id, str(path), count, "")


def _write_csv(path: Path, header: list[str], rows: Iterable[Iterable]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def output_names(shard: tuple[int, int]) -> tuple[str, str]:
    """Manifest and failures file names of a shard (``ctnet.paths``: one pair per shard)."""
    suffix = paths.shard_suffix(*shard)
    return paths.MANIFEST_NAME.format(shard=suffix), paths.FAILURES_NAME.format(shard=suffix)


def extract_videos(videos: str | Path, out_root: str | Path, short_side: int = 256, shard: tuple[int, int] = (0, 1),
                   workers: int = 1, quality: int = 90, progress: bool = True) -> list[Outcome]:
    """Extract this shard's videos with ``workers`` processes; write ``out_root/manifest*.csv``
    (``video_id,num_frames``) and ``out_root/failures*.csv`` (``video_id,path,reason``). Returns all outcomes."""
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    paths = list_videos(videos)[shard[0]::shard[1]]
    outcomes: list[Outcome] = []
    bar = progress_bar(total=len(paths), desc=f"extracting shard {shard[0]}/{shard[1]}", unit="video",
                       disable=not progress)
    if workers <= 1:
        for path in paths:
            outcomes.append(extract_video(path, out_root, short_side, quality))
            bar.update()
    else:
        with ProcessPoolExecutor(workers) as pool:
            for outcome in pool.map(extract_video, paths, [out_root] * len(paths), [short_side] * len(paths),
                                    [quality] * len(paths), chunksize=4):
                outcomes.append(outcome)
                bar.update()
    bar.close()
    manifest, failures = output_names(shard)
    _write_csv(out_root / manifest, ["video_id", "num_frames"],
               ((o.video_id, o.num_frames) for o in outcomes if not o.reason))
    _write_csv(out_root / failures, ["video_id", "path", "reason"],
               ((o.video_id, o.path, o.reason) for o in outcomes if o.reason))
    return outcomes


def read_manifests(frames_root: str | Path) -> dict[str, int]:
    """``video_id -> num_frames`` from every ``manifest*.csv`` in ``frames_root`` (all shards)."""
    counts: dict[str, int] = {}
    for manifest in sorted(Path(frames_root).glob("manifest*.csv")):
        with open(manifest, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                counts[row["video_id"]] = int(row["num_frames"])
    return counts
