"""Clip augmentation on whole uint8 clips: one crop box and one flip decision for all frames of a clip.

Frames arrive as a uint8 tensor ``(T, 3, H, W)`` straight from the JPEG decoder, are cropped and resized while
still uint8 (torch's vectorised uint8 resize, instead of one PIL call per frame as in TSM's
``GroupMultiScaleCrop``), and are converted to float only once, fused with the ImageNet normalisation.
Outputs are laid out channel-first in time, ``(3, T, H, W)``, the layout the models take.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import platform

import numpy as np
import torch
from torch.nn import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# TSM's fixed-offset crop grid ("more_fix_crop"): positions in quarters of the free space (row, column):
# the four corners and the centre, then the four edge centres and the four quarter points.
_FIXED_OFFSETS = ((0, 0), (0, 4), (4, 0), (4, 4), (2, 2),
                  (2, 0), (2, 4), (4, 2), (0, 2), (1, 1), (1, 3), (3, 1), (3, 3))


def resize(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Antialiased bilinear resize of uint8 ``(T, 3, H, W)``, pixel for pixel torchvision's
    ``transforms.v2.functional.resize`` (tests/test_data_transforms.py compares them), without importing
    torchvision in every data process (it loads torch._dynamo: seconds per process)."""
    if frames.shape[-2:] == (height, width):
        return frames
    # torch resizes uint8 natively where it has a vectorised kernel; elsewhere torchvision goes through float.
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512") or platform.machine() in ("aarch64", "arm64"):
        return F.interpolate(frames, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    resized = F.interpolate(frames.float(), size=(height, width), mode="bilinear", align_corners=False,
                            antialias=True)
    return resized.round_().to(torch.uint8)


class Normalize:
    """uint8 ``(T, 3, H, W)`` -> float32 ``(3, T, H, W)``, scaled to [0, 1] and standardised per channel."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        std_t = torch.tensor(std, dtype=torch.float32)
        # (x / 255 - mean) / std folded into one multiply and one subtract
        self.scale = (1.0 / (255.0 * std_t)).view(3, 1, 1, 1)
        self.shift = (torch.tensor(mean, dtype=torch.float32) / std_t).view(3, 1, 1, 1)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        # The layout change rides on the uint8 -> float copy, so the clip is written once before the scaling.
        out = frames.transpose(0, 1).to(torch.float32, memory_format=torch.contiguous_format)  # (3, T, H, W)
        return out.mul_(self.scale).sub_(self.shift)


class MultiScaleCrop:
    """TSM's multi-scale crop: a crop whose sides are ``scale * short side`` (the two scales at most
    ``max_distort`` steps apart), placed at one of the fixed grid offsets, resized to ``size x size``."""

    def __init__(self, size: int, scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66), max_distort: int = 1):
        if size < 1 or not scales:
            raise ValueError(f"MultiScaleCrop needs a positive size and at least one scale, got {size}, {scales}")
        self.size = size
        self.scales = tuple(scales)
        self.max_distort = max_distort

    def crop_box(self, height: int, width: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        """``(top, left, crop_height, crop_width)`` for a frame of ``height x width``."""
        base = min(height, width)
        # Crop sides within 3 pixels of the output size snap to it, so scale 1 at the output size means no resize.
        sides = [self.size if abs(int(base * s) - self.size) < 3 else int(base * s) for s in self.scales]
        pairs = [(sides[i], sides[j]) for i in range(len(sides)) for j in range(len(sides))
                 if abs(i - j) <= self.max_distort]
        crop_h, crop_w = pairs[int(rng.integers(len(pairs)))]
        crop_h, crop_w = min(crop_h, height), min(crop_w, width)
        row, col = _FIXED_OFFSETS[int(rng.integers(len(_FIXED_OFFSETS)))]
        return row * ((height - crop_h) // 4), col * ((width - crop_w) // 4), crop_h, crop_w

    def __call__(self, frames: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        top, left, crop_h, crop_w = self.crop_box(frames.shape[-2], frames.shape[-1], rng)
        crop = frames[..., top:top + crop_h, left:left + crop_w]
        return resize(crop, self.size, self.size)  # (T, 3, size, size)


def check_flip_label_map(flip_label_map: Mapping, classes: Sequence[str], source: str) -> dict[int, int]:
    """The ``data.flip_label_map`` as ``{int: int}``, after checking that it is symmetric and that each pair of
    class names are mirror images (``left`` <-> ``right``, ``clockwise`` <-> ``counter-clockwise``)."""
    mapping = {int(k): int(v) for k, v in flip_label_map.items()}
    for a, b in mapping.items():
        for label in (a, b):
            if not 0 <= label < len(classes):
                raise ValueError(f"data.flip_label_map: label {label} is outside the {len(classes)} classes of "
                                 f"{source}; fix the map")
        if mapping.get(b) != a:
            raise ValueError(f"data.flip_label_map: {a} -> {b} needs the reverse entry {b} -> {a}; add it")
        if mirror_class_name(classes[a]) != classes[b]:
            raise ValueError(f"data.flip_label_map: {a} -> {b} pairs {classes[a]!r} with {classes[b]!r} of "
                             f"{source}, which are not left/right mirror images; fix the map")
    by_name = {name: i for i, name in enumerate(classes)}
    for i, name in enumerate(classes):
        j = by_name.get(mirror_class_name(name))
        if j is not None and j != i and mapping.get(i) != j:
            raise ValueError(f"data.flip_label_map lacks {i} -> {j} ({name!r} flipped is {classes[j]!r} in "
                             f"{source}); add both directions")
    return mapping


def mirror_class_name(name: str) -> str:
    """The class name a horizontal flip turns ``name`` into (words swapped, case kept)."""
    swaps = {"left": "right", "right": "left", "clockwise": "counter-clockwise",
             "counter-clockwise": "clockwise"}
    words = name.split(" ")
    out = []
    for word in words:
        core = word.rstrip(",.")
        swapped = swaps.get(core.lower())
        if swapped is None:
            out.append(word)
            continue
        if core[:1].isupper():
            swapped = swapped.capitalize()
        out.append(swapped + word[len(core):])
    return " ".join(out)


class TrainTransform:
    """Multi-scale crop, optional horizontal flip (with a label map), normalisation:
    uint8 ``(T, 3, H, W)`` -> float ``(3, T, size, size)`` and the possibly swapped label."""

    def __init__(self, size: int, scales: Sequence[float], flip: bool, flip_label_map: Mapping[int, int] | None,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        self.crop = MultiScaleCrop(size, scales)
        self.flip = flip
        self.flip_label_map = dict(flip_label_map or {})
        self.normalize = Normalize(mean, std)

    def __call__(self, frames: torch.Tensor, label: int, rng: np.random.Generator) -> tuple[torch.Tensor, int]:
        frames = self.crop(frames, rng)
        if self.flip and rng.random() < 0.5:
            frames = frames.flip(-1)
            label = self.flip_label_map.get(label, label)
        return self.normalize(frames), label


def resize_short_side(frames: torch.Tensor, size: int, truncate: bool = False) -> torch.Tensor:
    """Scale ``(T, 3, H, W)`` so that its shorter side is ``size``, keeping the aspect ratio (the longer side
    rounded, or truncated as torchvision's ``Resize(int)`` in the official ``GroupScale`` with ``truncate``)."""
    height, width = frames.shape[-2:]
    if min(height, width) == size:
        return frames
    scale = int if truncate else round
    if height <= width:
        new_h, new_w = size, max(size, scale(width * size / height))
    else:
        new_h, new_w = max(size, scale(height * size / width)), size
    return resize(frames, new_h, new_w)


class TestTransform:
    """Resize the short side and take ``crops`` square crops of side ``size``. uint8 ``(T, 3, H, W)`` ->
    float ``(crops, 3, T, size, size)``.

    ``resize=None``: short side to ``size``; 1 = the centre crop, 3 = both ends and the centre of the longer side
    (TSM's full-resolution three-crop test). ``resize=R``: the official test (``test_acc.py:105-113``,
    ``GroupScale(R)`` then ``GroupCenterCrop`` / ``GroupFullResSample``): short side to R (longer side
    truncated), 1 = torchvision's centre crop (offsets ``round((R - size) / 2)``, half to even), 3 = left,
    centre and right at ``(0, 2, 4) * ((W - size) // 4)`` along the width (always the width, as the official
    code), all at height ``2 * ((H - size) // 4)``.
    """

    def __init__(self, size: int, crops: int, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, resize: int | None = None):
        if crops not in (1, 3):
            raise ValueError(f"a test protocol takes 1 or 3 crops, got crops={crops}")
        if resize is not None and resize < size:
            raise ValueError(f"a test protocol's resize ({resize}) must be at least its crop size ({size})")
        self.size = size
        self.crops = crops
        self.resize = resize
        self.normalize = Normalize(mean, std)

    def positions(self, height: int, width: int) -> list[tuple[int, int]]:
        """``(top, left)`` of each crop on the resized ``height x width`` frame."""
        size = self.size
        if self.resize is not None:
            if self.crops == 1:
                return [(round((height - size) / 2.0), round((width - size) / 2.0))]  # Python 3: half to even
            w_step, h_step = (width - size) // 4, (height - size) // 4
            return [(2 * h_step, 0), (2 * h_step, 2 * w_step), (2 * h_step, 4 * w_step)]
        if self.crops == 1:
            return [((height - size) // 2, (width - size) // 2)]
        if width >= height:
            return [(0, 0), (0, (width - size) // 2), (0, width - size)]
        return [(0, 0), ((height - size) // 2, 0), (height - size, 0)]

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        if self.resize is None:
            frames = resize_short_side(frames, self.size)
        else:
            frames = resize_short_side(frames, self.resize, truncate=True)
        height, width = frames.shape[-2:]
        views = [self.normalize(frames[..., top:top + self.size, left:left + self.size])
                 for top, left in self.positions(height, width)]
        return torch.stack(views)  # (crops, 3, T, size, size)
