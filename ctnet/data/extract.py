"""Frame extraction: videos -> ``<out>/<video_id>/img_00001.jpg ...`` (the TSM layout), a manifest and a
failures list. Sharded (``shard=(i, n)``) so that each SLURM array task handles its own slice of a large
dataset; a video's folder only appears, by rename, once all its frames are written, with a stamp of what made it
(``frames_stamp``), and a re-run reuses a folder only when its stamp matches the video and settings of this run.
A broken video never stops a shard: real downloads always hold some, so only a failed share above a threshold
(``failures_exceed``) is an error. Frames that cannot be written (a full disk) stop the shard at once
(``FrameWriteError``): every later video would fail the same way, and none of them is broken.
"""
from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterable, NamedTuple

from .. import paths
from ..atomic import atomic_path
from ..progress import progress_bar
from .frames import count_frames
from .video import VideoDecodeError, decode_frames

VIDEO_SUFFIXES = {".mp4", ".webm", ".avi", ".mkv", ".mov", ".m4v", ".flv", ".3gp", ".mpg", ".mpeg"}
FRAME_TMPL = "img_{:05d}.jpg"
# Part of every stamp: raise it when a change of the extraction code makes other frames from the same video and
# settings, so that folders of the older code are extracted again.
FRAMES_FORMAT = 1


class Outcome(NamedTuple):
    video_id: str
    path: str
    num_frames: int  # 0 when it failed
    reason: str  # empty when it succeeded
    reused: bool = False  # an existing folder made from the same video with the same settings
    stale: str = ""  # why an existing folder was discarded and extracted again (``stale_reason``)
    made_from: str = ""  # ``stamp_digest`` of the folder's stamp; empty when it failed


class FrameWriteError(RuntimeError):
    """Frames could not be written (full disk, quota, read-only or unwritable folder): fatal for the shard, never a
    broken video. Its message is one line naming the folder and the fix."""


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


def frames_stamp(path: Path, short_side: int, quality: int) -> dict:
    """What a frame folder is made from: its video (size and modification time) and the extraction settings.
    Raises ``OSError`` when the video cannot be read."""
    stat = path.stat()
    # The path is for whoever reads the stamp, not compared: the same file reached by another path (a moved or
    # re-mounted dataset) must not cost a re-extraction, and another file of the same id differs in size or time.
    return {"format": FRAMES_FORMAT, "video": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "short_side": short_side, "quality": quality}


def stamp_digest(stamp: dict) -> str:
    """A short digest of what a frame folder was made from: its stamp without the path, which is not compared.
    The manifests carry it, so that what reads them (a training's settings digest) sees re-extracted frames."""
    made_from = {key: value for key, value in stamp.items() if key != "video"}
    return hashlib.sha256(json.dumps(made_from, sort_keys=True).encode()).hexdigest()[:16]


def read_stamp(folder: Path) -> dict | None:
    """The stamp of a finished frame folder; None when it has none (made by older code) or it is unreadable."""
    try:
        stamp = json.loads((folder / paths.FRAMES_STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def stale_reason(old: dict | None, new: dict) -> str:
    """Why a folder stamped ``old`` cannot stand for ``new`` (``frames_stamp``); empty when it can."""
    if old is None:
        return "no stamp (made by older code)"
    if old.get("format") != new["format"]:
        return "extraction code changed"
    if (old.get("size"), old.get("mtime_ns")) != (new["size"], new["mtime_ns"]):
        return "video changed"
    changed = [f"{key} {old.get(key)} -> {new[key]}" for key in ("short_side", "quality") if old.get(key) != new[key]]
    return f"other settings ({', '.join(changed)})" if changed else ""


def _write_error(folder: Path, exc: OSError) -> FrameWriteError:
    """The one-line error for frames that cannot be written to ``folder`` (the video's final folder)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space (or point the source's frames: at a larger disk) and rerun"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "make the frames folder writable (or point the source's frames: at a writable one) and rerun"
    else:
        fix = "fix the cause and rerun"
    return FrameWriteError(f"{folder}: cannot write frames: {exc.strerror or exc}; {fix}")


def extract_video(path: str | Path, out_root: str | Path, short_side: int, quality: int = 90) -> Outcome:
    """Extract one video to ``out_root/<id>/``. An existing folder is reused when its stamp matches this video and
    these settings, else discarded and extracted again. Never raises for a bad video: the reason goes into the
    returned ``Outcome``; raises ``FrameWriteError`` when the frames cannot be written."""
    path, out_root = Path(path), Path(out_root)
    video_id = path.stem
    final, tmp = out_root / video_id, out_root / f".tmp_{video_id}"
    try:
        stamp = frames_stamp(path, short_side, quality)
    except OSError as exc:  # a listed video that is gone or unreadable
        return Outcome(video_id, str(path), 0, f"{type(exc).__name__}: {exc}".replace("\n", " "))
    stale = ""
    if final.is_dir():
        stale = stale_reason(read_stamp(final), stamp)
        if not stale:
            return Outcome(video_id, str(path), count_frames(final), "", reused=True, made_from=stamp_digest(stamp))
    try:
        # A leftover from a killed run of this shard (ids are unique, so no other shard writes here)
        shutil.rmtree(tmp, ignore_errors=True)
        if stale:
            # Frames of other inputs go before extracting: under the final name they would be read as this
            # video's, and on a nearly full disk their space is needed. Renamed first, so that a killed removal
            # leaves no partial folder under the final name.
            os.replace(final, tmp)
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    except OSError as exc:
        raise _write_error(final, exc) from None
    count = 0
    try:
        for count, frame in enumerate(decode_frames(path, short_side), 1):
            image = frame.to_image()
            try:
                image.save(tmp / FRAME_TMPL.format(count), quality=quality)
            except OSError as exc:
                raise _write_error(final, exc) from None
    except (VideoDecodeError, OSError) as exc:  # reading the video; writing raised FrameWriteError, not OSError
        shutil.rmtree(tmp, ignore_errors=True)
        reason = str(exc) if isinstance(exc, VideoDecodeError) else f"{type(exc).__name__}: {exc}"
        return Outcome(video_id, str(path), 0, reason.replace("\n", " "), stale=stale)
    except FrameWriteError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        # Inside the folder before its rename: a folder never appears without the stamp of what made it.
        (tmp / paths.FRAMES_STAMP_NAME).write_text(json.dumps(stamp), encoding="utf-8")
        os.replace(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_error(final, exc) from None
    return Outcome(video_id, str(path), count, "", stale=stale, made_from=stamp_digest(stamp))


def _write_csv(path: Path, header: list[str], rows: Iterable[Iterable]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def output_names(shard: tuple[int, int]) -> tuple[str, str]:
    """Manifest and failures file names of a shard (``ctnet.paths``: one pair per shard)."""
    suffix = paths.shard_suffix(*shard)
    return paths.MANIFEST_NAME.format(shard=suffix), paths.FAILURES_NAME.format(shard=suffix)


def other_shard_counts(out_root: Path, count: int) -> list[Path]:
    """Manifests and failures lists of a run sharded into another number of jobs than ``count``: the lists
    builder reads every manifest of the folder, so once the shard count changes they would describe videos twice
    or with stale frame counts. The shards of one run all have the same count and never remove each other's."""
    stale = []
    for prefix in (paths.MANIFEST_NAME, paths.FAILURES_NAME):
        head = prefix.split("{")[0]
        for path in out_root.glob(f"{head}*.csv"):
            try:
                other = paths.parse_shard_suffix(path.name[len(head):-len(".csv")])[1]
            except ValueError:
                continue  # not a name the extraction writes
            if other != count:
                stale.append(path)
    return stale


def extract_videos(videos: str | Path, out_root: str | Path, short_side: int, shard: tuple[int, int] = (0, 1),
                   workers: int = 1, quality: int = 90, progress: bool = True) -> list[Outcome]:
    """Extract this shard's videos with ``workers`` processes; write ``out_root/manifest*.csv``
    (``video_id,num_frames,made_from``) and ``out_root/failures*.csv`` (``video_id,path,reason``). Returns all outcomes.
    Raises ``FrameWriteError`` when frames cannot be written, leaving neither file."""
    out_root = Path(out_root)
    paths = list_videos(videos)[shard[0]::shard[1]]
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        # The files of an earlier run describe folders that this run may discard: a run that stops leaves none.
        for name in output_names(shard):
            (out_root / name).unlink(missing_ok=True)
        for stale in other_shard_counts(out_root, shard[1]):
            stale.unlink(missing_ok=True)
    except OSError as exc:
        raise _write_error(out_root, exc) from None
    outcomes: list[Outcome] = []
    # Closed on an error too, so that the error's line in the log is a line of its own.
    with progress_bar(total=len(paths), desc=f"extracting shard {shard[0]}/{shard[1]}", unit="video",
                      disable=not progress) as bar:
        if workers <= 1:
            for path in paths:
                outcomes.append(extract_video(path, out_root, short_side, quality))
                bar.update()
        else:
            # A FrameWriteError of a worker comes back here; leaving the map cancels the videos not yet started.
            with ProcessPoolExecutor(workers) as pool:
                for outcome in pool.map(extract_video, paths, [out_root] * len(paths), [short_side] * len(paths),
                                        [quality] * len(paths), chunksize=4):
                    outcomes.append(outcome)
                    bar.update()
    manifest, failures = output_names(shard)
    _write_csv(out_root / manifest, ["video_id", "num_frames", "made_from"],
               ((o.video_id, o.num_frames, o.made_from) for o in outcomes if not o.reason))
    _write_csv(out_root / failures, ["video_id", "path", "reason"],
               ((o.video_id, o.path, o.reason) for o in outcomes if o.reason))
    return outcomes

