"""The frame-folder dataset behind ``ctnet.data.build_dataset`` (see docs/experiment.md for ``data_cfg``)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import simplejpeg
import torch
from PIL import Image
from torch.utils.data import Dataset, get_worker_info

from .sampling import view_indices, train_indices
from .spec import DATA_DEFAULTS
from .transforms import TestTransform, TrainTransform, check_flip_label_map

# Memory for the decoded frames that a training dataset keeps: each epoch samples frames of the same videos again,
# and on small frames decoding is most of the data time. Only a training dataset read in the main process
# (data.workers: 0) keeps them: workers start afresh every epoch, and a test reads each frame once.
FRAME_CACHE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ListEntry:
    """One line of a TSM list file: ``frame_dir num_frames label``."""
    frame_dir: str
    num_frames: int
    label: int


def read_list(path: str | Path) -> list[ListEntry]:
    """Parse a TSM list file; ``frame_dir`` may contain spaces (the last two fields are the numbers)."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").rsplit(" ", 2)
            try:
                entries.append(ListEntry(fields[0], int(fields[1]), int(fields[2])))
            except (IndexError, ValueError):
                raise ValueError(f"{path}:{line_no}: expected 'frame_dir num_frames label', got {line.strip()!r}; "
                                 "rebuild the list with scripts/build_lists.py") from None
    if not entries:
        raise ValueError(f"{path} lists no videos; rebuild it with scripts/build_lists.py")
    return entries


def read_classes(path: str | Path) -> list[str]:
    """One class name per line, in label order."""
    with open(path, encoding="utf-8") as f:
        classes = [line.rstrip("\n") for line in f if line.strip()]
    if not classes:
        raise ValueError(f"{path} holds no class names; rebuild it with scripts/build_lists.py")
    return classes


# JPEG colour spaces whose RGB conversion is the same in libjpeg-turbo and Pillow; CMYK and YCCK differ.
_PLAIN_JPEG_COLOURS = ("YCbCr", "Gray", "RGB")


def decode_image(path: Path) -> np.ndarray:
    """The RGB pixels of a frame file, uint8 ``(H, W, 3)``.

    JPEG goes to libjpeg-turbo through simplejpeg, with its accurate DCT and upsampling: the same pixels as
    torchvision's and Pillow's decoders (tests/test_data_frame_cache.py), in a third of Pillow's time on the small
    frames of the CPU-scale run, where decoding is most of a training's data time. Other formats go to Pillow. Not
    torchvision: importing it costs every training and test process about 4 s of CPU (it loads torch._dynamo).
    A file that neither decodes (truncated, not an image) raises ``ValueError`` naming it and the fix.
    """
    data = path.read_bytes()
    try:
        if simplejpeg.is_jpeg(data) and simplejpeg.decode_jpeg_header(data)[2] in _PLAIN_JPEG_COLOURS:
            return simplejpeg.decode_jpeg(data, colorspace="RGB")
    except ValueError:
        pass  # corrupt data: Pillow decodes what it can or raises its own error, as for any other file
    try:
        with Image.open(path) as image:
            return np.array(image.convert("RGB"))
    except (OSError, ValueError) as exc:  # Pillow's errors name no file ("image file is truncated")
        raise ValueError(f"{path}: cannot decode the frame ({exc}); re-extract its video: delete {path.parent} "
                         "and rerun extract_frames (frames shipped as such: replace the file)") from None


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed ``random`` and numpy from the per-worker torch seed, which the
    DataLoader derives from its generator (and so from the run's seed). The dataset itself draws its
    augmentation from torch's generator; this covers any library that uses the other two."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class VideoFrameDataset(Dataset):
    """Clips from folders of JPEG frames listed in a TSM list file.

    Training (``protocol=None``): item ``(clip, label)``, ``clip`` float ``(3, T, H, W)``.
    Testing: item ``(views, label, index)``, ``views`` float ``(clips * crops, 3, T, S, S)``, clip-major.
    """

    def __init__(self, frames_root: str | Path, list_file: str | Path, classes: list[str], filename_tmpl: str,
                 num_frames: int, sampling: str, dense_stride: int, train_transform: TrainTransform | None = None,
                 protocol: Mapping | None = None, dense_window: int | None = None):
        self.frames_root = Path(frames_root)
        self.list_file = Path(list_file)
        self.entries = read_list(list_file)
        self.classes = classes
        self.filename_tmpl = filename_tmpl
        self.num_frames = num_frames
        self.sampling = sampling
        self.dense_stride = dense_stride
        self.dense_window = dense_window  # None: dense_stride; W: the official 64-frame window rule
        self.train_transform = train_transform
        self.protocol = dict(protocol) if protocol is not None else None
        resize = protocol.get("resize") if protocol is not None else None
        self.test_transform = (TestTransform(int(protocol["size"]), int(protocol.get("crops", 1)),
                                             resize=None if resize is None else int(resize))
                               if protocol is not None else None)
        for entry in self.entries:
            if not 0 <= entry.label < len(classes):
                raise ValueError(f"{self.list_file}: {entry.frame_dir} has label {entry.label}, but the classes "
                                 f"file has {len(classes)} classes; rebuild both with scripts/build_lists.py")
        self.video_ids = [e.frame_dir for e in self.entries]
        self.labels = [e.label for e in self.entries]
        self._frame_cache = {}  # (frame_dir, 0-based index) -> uint8 (3, H, W), up to FRAME_CACHE_BYTES
        self._cached_bytes = 0

    def __len__(self) -> int:
        return len(self.entries)

    def load_frames(self, entry: ListEntry, indices: np.ndarray) -> torch.Tensor:
        """Decode the frames at 0-based ``indices`` (file numbers start at 1): uint8 ``(len, 3, H, W)``.
        Each distinct frame is read once, however often the indices repeat it."""
        unique, inverse = np.unique(indices, return_inverse=True)
        caching = self.protocol is None and get_worker_info() is None
        frames = [self._frame_cache.get((entry.frame_dir, int(i))) if caching else None for i in unique]
        missing = [n for n, frame in enumerate(frames) if frame is None]
        for n, frame in zip(missing, self._decode(entry, unique[missing])):
            frames[n] = frame
            if caching and self._cached_bytes + frame.numel() <= FRAME_CACHE_BYTES:
                self._frame_cache[entry.frame_dir, int(unique[n])] = frame
                self._cached_bytes += frame.numel()
        first = frames[0]
        for n, frame in enumerate(frames):
            if frame.shape != first.shape:
                # Frames of two extractions in one folder; torch.stack would only say "equal size", naming nothing.
                this, other = (self.filename_tmpl.format(int(unique[k]) + 1) for k in (n, 0))
                raise ValueError(f"{self.frames_root / entry.frame_dir}: frame {this} is "
                                 f"{frame.shape[2]}x{frame.shape[1]} but {other} is {first.shape[2]}x{first.shape[1]}"
                                 "; the folder mixes frames of two extractions: delete it and rerun extract_frames")
        return torch.stack(frames)[torch.from_numpy(inverse.reshape(-1))]

    def _decode(self, entry: ListEntry, indices: np.ndarray) -> list[torch.Tensor]:
        """The frames at 0-based ``indices``, read from disk and decoded: uint8 ``(3, H, W)`` each."""
        folder = self.frames_root / entry.frame_dir
        frames = []
        for i in indices:
            path = folder / self.filename_tmpl.format(int(i) + 1)
            try:
                frames.append(torch.from_numpy(decode_image(path)).permute(2, 0, 1))
            except FileNotFoundError:
                raise FileNotFoundError(f"{path} is missing (listed with {entry.num_frames} frames in "
                                        f"{self.list_file}); re-extract the frames or rebuild the list") from None
        return frames

    def __getitem__(self, index: int):
        entry = self.entries[index]
        if self.protocol is None:
            # The torch generator is seeded per worker by the DataLoader (and by torch.manual_seed in the main
            # process), so drawing the clip's seed from it keeps runs reproducible without shared numpy state.
            rng = np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
            indices = train_indices(self.sampling, entry.num_frames, self.num_frames, self.dense_stride, rng,
                                    self.dense_window)
            return self.train_transform(self.load_frames(entry, indices), entry.label, rng)
        clips = int(self.protocol.get("clips", 1))
        indices = view_indices(self.sampling, self.protocol.get("clip_sampling", "center"), clips,
                               entry.num_frames, self.num_frames, self.dense_stride,
                               self.dense_window)  # (clips, T)
        frames = self.load_frames(entry, indices.reshape(-1))  # (clips * T, 3, H, W)
        views = [self.test_transform(clip) for clip in frames.split(self.num_frames)]  # clips x (crops, 3, T, S, S)
        return torch.cat(views), entry.label, index


def build_dataset(data_cfg: Mapping, split: str, protocol: Mapping | None = None) -> VideoFrameDataset:
    """The dataset for ``split`` (``train`` or ``val``) of the experiment's ``data:`` mapping; with a test
    ``protocol`` (a ``protocols:`` entry) items are multi-view, otherwise training clips."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    cfg = {**DATA_DEFAULTS, **data_cfg}
    for key in ("frames_root", f"{split}_list", "classes"):
        if not cfg.get(key):
            raise ValueError(f"the experiment's data: mapping lacks '{key}'; see docs/experiment.md")
    classes = read_classes(cfg["classes"])
    train_transform = None
    if protocol is None:
        flip_map = None
        if cfg["flip"] and cfg["flip_label_map"]:
            flip_map = check_flip_label_map(cfg["flip_label_map"], classes, cfg["classes"])
        train_transform = TrainTransform(int(cfg["train_size"]), [float(s) for s in cfg["scales"]],
                                         bool(cfg["flip"]), flip_map)
    return VideoFrameDataset(cfg["frames_root"], cfg[f"{split}_list"], classes, cfg["filename_tmpl"],
                             int(cfg["num_frames"]), cfg["sampling"], int(cfg["dense_stride"]),
                             train_transform, protocol,
                             dense_window=None if cfg["dense_window"] is None else int(cfg["dense_window"]))
