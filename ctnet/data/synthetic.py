"""A small synthetic video dataset whose classes only differ in how an object moves.

Classes come in pairs, the second of a pair being the first played backwards (left to right / right to left,
clockwise / counter-clockwise, appearing / disappearing, ...). Each video of the second class is rendered as a
video of the first and then reversed, so both classes of a pair have exactly the same distribution of single
frames: a 2D network with average consensus cannot tell them apart (chance within a pair), while a model that
sees frame order can. Shapes, colours, sizes, speeds, timing and backgrounds are random; everything follows the
seed. The output is real video files (mp4 and webm) and Something-Something V2 annotation files, so that the
dataset goes through the same extraction and parsing path as the real ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_json_atomic
from ..progress import progress_bar

# (template of the forward class, template of the backward class, motion): SSv2-style templates, the class
# name being the template without brackets. Horizontal flips swap the first and fourth pair's classes.
PAIRS = (
    ("Moving [something] from left to right", "Moving [something] from right to left", "horizontal"),
    ("Moving [something] from top to bottom", "Moving [something] from bottom to top", "vertical"),
    ("Moving [something] towards the camera", "Moving [something] away from the camera", "zoom"),
    ("Rotating [something] clockwise", "Rotating [something] counter-clockwise", "rotation"),
    ("[Something] appearing", "[Something] disappearing", "fade"),
    ("[Something] getting brighter", "[Something] getting darker", "brightness"),
)
MAX_CLASSES = 2 * len(PAIRS)

SHAPES = ("circle", "square", "triangle", "bar")
# Light colours (every channel >= 120) over dark backgrounds (every channel <= 100 + noise): objects are lighter
# than the background in every channel. With that fixed contrast polarity the sign of a temporal change says
# which way an edge moves; with random polarity, small average-pooled models trained from scratch on a few hundred
# videos do not learn direction at all (measured: chance after 800 steps; 100 % within 200 steps with it).
COLOURS = {"red": (255, 130, 130), "green": (130, 235, 145), "blue": (140, 165, 255), "yellow": (250, 240, 130),
           "purple": (215, 150, 250), "orange": (255, 195, 120), "cyan": (130, 235, 245), "white": (245, 245, 245)}


def class_templates(num_classes: int) -> list[str]:
    """The SSv2-style templates of the first ``num_classes`` classes, in label order."""
    if num_classes < 2 or num_classes % 2 or num_classes > MAX_CLASSES:
        raise ValueError(f"--num-classes must be an even number from 2 to {MAX_CLASSES} (classes come in "
                         f"forward/backward pairs), got {num_classes}")
    return [t for forward, backward, _ in PAIRS[:num_classes // 2] for t in (forward, backward)]


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test in the object's own coordinates (unit size)."""
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.85
    if shape == "bar":
        return (np.abs(u) <= 1.0) & (np.abs(v) <= 0.35)
    # triangle: three half-planes whose normals are 120 degrees apart
    inside = np.ones(np.broadcast(u, v).shape, dtype=bool)
    for angle in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3):
        inside &= u * np.cos(angle) + v * np.sin(angle) <= 0.5
    return inside


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static random dark background: a gentle colour gradient plus fixed texture noise, float ``(H, W, 3)``.
    Gentle, because strong random gradients swamp the globally pooled features of small CPU-scale models."""
    low = rng.uniform(0, 80, 3)
    high = np.clip(low + rng.uniform(-30, 30, 3), 0, 100)
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    ramp = np.clip(0.5 + (x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle), 0, 1)[..., None]
    texture = rng.normal(0, rng.uniform(1, 5), (size, size, 1))
    return low + (high - low) * ramp + texture


def _track(motion: str, rng: np.random.Generator, size: int, radius: float, progress: np.ndarray) -> dict:
    """One object's per-frame centre, size, angle, opacity and brightness (arrays of shape ``(F,)``)."""
    num_frames = len(progress)
    margin = radius * 0.8  # objects may touch the border, never leave the frame by much
    track = {"cx": np.full(num_frames, rng.uniform(margin, size - margin)),
             "cy": np.full(num_frames, rng.uniform(margin, size - margin)),
             "scale": np.full(num_frames, radius), "angle": np.full(num_frames, rng.uniform(0, 2 * np.pi)),
             "alpha": np.ones(num_frames), "gain": np.ones(num_frames)}
    if motion in ("horizontal", "vertical"):
        distance = rng.uniform(0.3, 0.4) * size
        path = rng.uniform(margin, size - margin - distance) + distance * progress
        track["cx" if motion == "horizontal" else "cy"] = path  # rows grow downwards: "vertical" goes down
    elif motion == "zoom":
        track["scale"] = radius * 0.4 * rng.uniform(2.5, 3.5) ** progress
    elif motion == "rotation":
        # With rows growing downwards, a growing angle turns clockwise on screen.
        track["angle"] = track["angle"] + np.deg2rad(rng.uniform(60, 150)) * progress
    elif motion == "fade":
        track["alpha"] = progress
    elif motion == "brightness":
        track["gain"] = 0.2 + 0.8 * progress
    else:
        raise ValueError(f"unknown motion {motion!r}")
    return track


def render_forward(motion: str, rng: np.random.Generator, size: int, num_frames: int,
                   max_objects: int = 3) -> tuple[np.ndarray, str]:
    """A video of the forward class of ``motion``: uint8 ``(F, H, W, 3)`` and a description of its objects.

    One to ``max_objects`` alike objects make the same motion (own positions and extents, shared timing): the
    motion then covers more of the frame, which the globally pooled features of small models need to see it."""
    shapes = [s for s in SHAPES if not (motion == "rotation" and s == "circle")]  # a turning circle looks still
    shape = shapes[int(rng.integers(len(shapes)))]
    background = _background(rng, size)
    # The most contrasting of three random colours, so that the objects never blend into the background.
    candidates = [list(COLOURS)[int(i)] for i in rng.choice(len(COLOURS), 3, replace=False)]
    colour_name = max(candidates, key=lambda c: np.abs(np.array(COLOURS[c]) - background.mean((0, 1))).sum())
    colour = np.array(COLOURS[colour_name], dtype=np.float64)
    count = int(rng.integers(1, max_objects + 1))

    # Progress 0 -> 1 from a random start to a random end, so speed and timing vary.
    start, end = rng.uniform(0.0, 0.1), rng.uniform(0.9, 1.0)
    progress = np.clip((np.linspace(0, 1, num_frames) - start) / (end - start), 0, 1)  # (F,)

    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    frames = np.broadcast_to(background, (num_frames, size, size, 3)).copy()  # (F, H, W, 3)
    for _ in range(count):
        t = _track(motion, rng, size, rng.uniform(0.12, 0.2) * size, progress)
        dx = (x[None] - t["cx"][:, None, None]) / t["scale"][:, None, None]  # (F, H, W)
        dy = (y[None] - t["cy"][:, None, None]) / t["scale"][:, None, None]
        cos, sin = np.cos(t["angle"])[:, None, None], np.sin(t["angle"])[:, None, None]
        u, v = cos * dx + sin * dy, -sin * dx + cos * dy  # into the object's frame (rotated by -angle)
        weight = (_shape_mask(shape, u, v) * t["alpha"][:, None, None])[..., None]  # (F, H, W, 1)
        obj = colour[None, None, None, :] * t["gain"][:, None, None, None]  # (F, 1, 1, 3)
        frames = frames * (1 - weight) + obj * weight
    thing = f"{colour_name} {shape}" if count == 1 else f"{count} {colour_name} {shape}s"
    return np.clip(frames, 0, 255).astype(np.uint8), thing


VAL_FRACTION = 0.2


def validation_count(class_size: int, val_fraction: float = VAL_FRACTION) -> int:
    """Validation videos of one class of `class_size` videos: its share, rounded, and at least one."""
    return max(1, int(round(class_size * val_fraction)))


def split_sizes(num_videos: int, num_classes: int, val_fraction: float = VAL_FRACTION) -> tuple[int, int]:
    """(training, validation) videos that make_synthetic writes: balanced classes, each split by validation_count."""
    per_class = [num_videos // num_classes + (label < num_videos % num_classes) for label in range(num_classes)]
    val = sum(validation_count(size, val_fraction) for size in per_class)
    return num_videos - val, val


def make_synthetic(out: str | Path, num_videos: int = 480, seed: int = 0, size: int = 64, num_frames: int = 32,
                   num_classes: int = 10, val_fraction: float = VAL_FRACTION, progress: bool = True) -> dict:
    """Write ``out/videos/<id>.{webm,mp4}`` and ``out/annotations/{labels,train,validation}.json`` (the SSv2
    format). Labels are balanced; ``val_fraction`` of the videos form the validation split. Returns a summary."""
    # Here, not at the top: the workflow's cost plan reads split_sizes from this module and must not load PyAV.
    from .video import encode_video

    templates = class_templates(num_classes)
    if size < 16 or size % 2:
        raise ValueError(f"--size must be an even number of pixels >= 16 (H.264 needs even sides), got {size}")
    if num_frames < 2:
        raise ValueError(f"--frames must be at least 2 (motion needs several frames), got {num_frames}")
    if num_videos < 2 * num_classes:
        raise ValueError(f"--num-videos must be at least 2 x num-classes = {2 * num_classes} so that both splits "
                         f"hold every class, got {num_videos}")
    out = Path(out)
    video_dir, ann_dir = out / "videos", out / "annotations"
    video_dir.mkdir(parents=True, exist_ok=True)
    ann_dir.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(seed)
    labels = np.arange(num_videos) % num_classes
    rng.shuffle(labels)
    is_val = np.zeros(num_videos, dtype=bool)
    for label in range(num_classes):  # stratified split: the same share of every class in validation
        members = np.flatnonzero(labels == label)
        is_val[members[:validation_count(len(members), val_fraction)]] = True
    video_seeds = rng.integers(0, 2**63 - 1, num_videos)

    train, val = [], []
    for i in progress_bar(range(num_videos), desc="synthetic videos", disable=not progress):
        label = int(labels[i])
        video_rng = np.random.default_rng(int(video_seeds[i]))
        frames, thing = render_forward(PAIRS[label // 2][2], video_rng, size, num_frames)
        if label % 2:
            frames = frames[::-1]  # the backward class: the same video played in reverse
        video_id = str(i + 1)
        # Alternate containers so both the VP9/webm (SSv2) and H.264/mp4 (Kinetics, UCF101) paths are exercised.
        suffix = ".webm" if i % 2 == 0 else ".mp4"
        with atomic_path(video_dir / f"{video_id}{suffix}") as tmp:
            encode_video(tmp, frames, lossless=True)  # the same pixels on every run: see video.LOSSLESS
        template = templates[label]
        (val if is_val[i] else train).append({
            "id": video_id, "label": template.replace("[something]", thing).replace("[Something]",
                                                                                      thing.capitalize()),
            "template": template, "placeholders": [thing]})
    write_json_atomic(ann_dir / "labels.json",
                      {t.replace("[", "").replace("]", ""): str(i) for i, t in enumerate(templates)}, indent=1)
    write_json_atomic(ann_dir / "train.json", train, indent=1)
    write_json_atomic(ann_dir / "validation.json", val, indent=1)
    return {"videos": num_videos, "train": len(train), "val": len(val), "classes": num_classes}
