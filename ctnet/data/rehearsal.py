"""Tiny copies of the paper's six datasets in their real download formats, and ImageNet weight files of the
names the paper configuration expects: a CPU dress rehearsal of ``config/paper.yaml`` at true sizes without a
download.

``make_rehearsal(root)`` writes, under ``root``, what ``config/paper.yaml``'s ``sources:`` and
``imagenet_weights:`` name below ``data/``:

* ``something-something-v1/``: JPEG frame folders ``20bn-something-something-v1/<id>/00001.jpg`` (100 pixels
  high, variable width, as shipped) and the semicolon CSVs ``something-something-v1-{labels,train,validation,
  test}.csv``;
* ``something-something-v2/``: VP9 WebM videos ``20bn-something-something-v2/<id>.webm`` (240 pixels high, 12
  fps) and ``something-something-v2-{labels,train,validation,test}.json``;
* ``kinetics400/``: H.264 MP4 clips ``videos/{train,val}/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4`` (the
  per-class folders of the ActivityNet crawler) and the DeepMind CSVs ``train.csv``, ``validate.csv``,
  ``test.csv``;
* ``minikinetics200/annotations``: ``train_ytid_list.txt`` and ``val_ytid_list.txt`` over Kinetics-400's videos,
  alone as in the release (the lists builder reads the rows from Kinetics-400's CSVs);
* ``ucf101/``: MPEG-4 Part 2 (Xvid's codec) AVI videos ``UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` and
  ``ucfTrainTestlist/`` (``classInd.txt``, ``trainlist0{1,2,3}.txt``, ``testlist0{1,2,3}.txt``, CRLF lines);
* ``hmdb51/``: MPEG-4 Part 2 AVI videos ``videos/<class>/<name>.avi`` and
  ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` (``name.avi 1|2|0``);
* ``weights/``: ``resnet50-0676ba61.pth``, ``resnet101-63fe2227.pth``, ``inception_v3_google-0cc3c7bd.pth``,
  torchvision state dicts of randomly initialised networks (the Inception file with its ``AuxLogits`` keys, as
  torchvision's original file).

Every dataset has its real class count (174, 174, 400, 200, 101, 51) but only a few videos, and, like a real
download, one annotated video that is missing on disk, one broken file (for Something-Something V1, whose frames
ship as folders, an empty frame folder) and one video shorter than a clip (``SHORT_FRAMES`` frames). Everything
follows the seed; a re-run with the same arguments skips the videos already written and leaves identical files
untouched (lossy encoders need not give the same bytes twice, so videos are never re-encoded). ``root`` holds a
``rehearsal.json`` of the arguments, so that a root written with other arguments, or holding real data, is
refused rather than mixed.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from ..atomic import atomic_path
from ..progress import progress_bar
from .annotations import sthv2_class
from .video import encode_video

STAMP = "rehearsal.json"
SHORT_FRAMES = 5  # the short video: fewer frames than any clip of the paper (8 segments, 16 or 64 dense frames)
MIN_POOL = 9  # UCF101 / HMDB51: the fewest videos that leave every split a good training and test video


@dataclass(frozen=True)
class Sizes:
    """How much to write. ``train`` / ``val``: videos per split of SSv1, SSv2 and Kinetics-400 (the broken one
    in training, the missing and the short one in validation, all counted); ``pool``: the UCF101 and HMDB51
    videos, each in the training or test part of every official split; ``small``: a quarter of the real frame
    sides and video lengths (for tests)."""
    train: int = 6
    val: int = 3
    pool: int = 9
    small: bool = False

    def check(self) -> None:
        if self.train < 3 or self.val < 3:
            raise ValueError(f"--train and --val must be at least 3 (a good, a broken and a missing or short video "
                             f"per dataset), got {self.train} and {self.val}")
        if self.pool < MIN_POOL:
            raise ValueError(f"--pool must be at least {MIN_POOL} (every UCF101 / HMDB51 split needs good training "
                             f"and test videos besides the missing, broken and short ones), got {self.pool}")


@dataclass(frozen=True)
class Format:
    """A dataset's video geometry, as its real files have it (frame counts are typical, not real lengths:
    real Kinetics clips have 300 frames, which would cost the rehearsal's extraction for nothing)."""
    sizes: tuple[tuple[int, int], ...]  # (width, height), cycled over the videos
    fps: int
    frames: int
    suffix: str

    def at(self, index: int, small: bool) -> tuple[int, int, int]:
        """(width, height, frames) of the ``index``-th video; ``small`` quarters them (even sides for the
        encoders that need them)."""
        width, height = self.sizes[index % len(self.sizes)]
        if not small:
            return width, height, self.frames
        return max(16, width // 8 * 2), max(16, height // 8 * 2), max(2 * SHORT_FRAMES, self.frames // 4)


# SSv1 ships 100-pixel-high JPEG frames, SSv2 240-pixel-high VP9 (427 wide for most: an odd width) at 12 fps.
# Kinetics clips come from YouTube at about 30 fps in any shape, phone videos upright; 64 frames must fit in most
# (paper.yaml's dense_window). UCF101 is 320x240 at 25 fps, HMDB51 240 high at 30 fps.
SSV1 = Format(((176, 100), (132, 100)), 12, 40, ".jpg")
SSV2 = Format(((427, 240), (320, 240)), 12, 40, ".webm")
KINETICS = Format(((320, 240), (240, 320)), 30, 80, ".mp4")
UCF101 = Format(((320, 240),), 25, 60, ".avi")
HMDB51 = Format(((320, 240), (400, 240)), 30, 60, ".avi")


# ---- class names --------------------------------------------------------------------------------------------

# Something-Something: 174 templates in the dataset's style; the class is the template without brackets.
_SS_ACTIONS = ("Approaching", "Attaching", "Bending", "Closing", "Covering", "Dropping", "Folding", "Holding",
               "Lifting", "Moving", "Opening", "Picking up", "Plugging", "Poking", "Pouring", "Pretending to put",
               "Pulling", "Pushing", "Putting", "Rolling", "Scooping", "Showing", "Spinning", "Squeezing",
               "Stacking", "Taking", "Tearing", "Throwing", "Tilting", "Turning")
_SS_OBJECTS = ("[something]", "[something] from left to right", "[something] from right to left",
               "[something] onto [something]", "[something] next to [something]",
               "[something] so that it almost falls over")
SS_NUM_CLASSES = 174
_THINGS = ("a cup", "a pen", "a book", "a phone", "a remote control", "a shoe", "a spoon", "a box of tissues",
           "a water bottle", "a candle", "keys", "a teddy bear")

# Kinetics-400: 400 lower-case names with spaces (25 x 16), one with an apostrophe and one with parentheses as
# real ones have; none pairs "left" with "right", since the Kinetics recipe flips without a label map.
_K_VERBS = ("arranging", "balancing", "building", "carrying", "catching", "cleaning", "climbing", "cutting",
            "decorating", "folding", "hitting", "juggling", "kicking", "lifting", "painting", "passing", "playing",
            "polishing", "pushing", "riding", "shaking", "spinning", "throwing", "tossing", "washing")
_K_OBJECTS = ("ball", "bike", "boat", "bottle", "box", "cake", "car", "drum", "flowers", "guitar", "hat", "ladder",
              "rope", "person's head", "american football (in game)", "paper")
KINETICS_NUM_CLASSES = 400

# UCF101's classInd.txt order (case-insensitive alphabetical) and HMDB51's classes, the real names.
UCF101_CLASSES = (
    "ApplyEyeMakeup ApplyLipstick Archery BabyCrawling BalanceBeam BandMarching BaseballPitch Basketball "
    "BasketballDunk BenchPress Biking Billiards BlowDryHair BlowingCandles BodyWeightSquats Bowling "
    "BoxingPunchingBag BoxingSpeedBag BreastStroke BrushingTeeth CleanAndJerk CliffDiving CricketBowling "
    "CricketShot CuttingInKitchen Diving Drumming Fencing FieldHockeyPenalty FloorGymnastics FrisbeeCatch "
    "FrontCrawl GolfSwing Haircut Hammering HammerThrow HandstandPushups HandstandWalking HeadMassage HighJump "
    "HorseRace HorseRiding HulaHoop IceDancing JavelinThrow JugglingBalls JumpingJack JumpRope Kayaking Knitting "
    "LongJump Lunges MilitaryParade Mixing MoppingFloor Nunchucks ParallelBars PizzaTossing PlayingCello "
    "PlayingDaf PlayingDhol PlayingFlute PlayingGuitar PlayingPiano PlayingSitar PlayingTabla PlayingViolin "
    "PoleVault PommelHorse PullUps Punch PushUps Rafting RockClimbingIndoor RopeClimbing Rowing SalsaSpin "
    "ShavingBeard Shotput SkateBoarding Skiing Skijet SkyDiving SoccerJuggling SoccerPenalty StillRings "
    "SumoWrestling Surfing Swing TableTennisShot TaiChi TennisSwing ThrowDiscus TrampolineJumping Typing "
    "UnevenBars VolleyballSpiking WalkingWithDog WallPushups WritingOnBoard YoYo").split()
HMDB51_CLASSES = (
    "brush_hair cartwheel catch chew clap climb climb_stairs dive draw_sword dribble drink eat fall_floor fencing "
    "flic_flac golf handstand hit hug jump kick kick_ball kiss laugh pick pour pullup punch push pushup ride_bike "
    "ride_horse run shake_hands shoot_ball shoot_bow shoot_gun sit situp smile smoke somersault stand "
    "swing_baseball sword sword_exercise talk throw turn walk wave").split()
# Classes of the UCF101 pool. The real HandstandPushups files are named v_HandStandPushups_...: the list's folder
# gives the class and the file name the id, which must not be confused.
_UCF_POOL_CLASSES = ("ApplyEyeMakeup", "HandstandPushups", "YoYo", "Basketball")
_UCF_FILE_CLASS = {"HandstandPushups": "HandStandPushups"}
# HMDB51 names are "<source title>_<class>_<visible body>_<camera motion>_<people>_<view>_<quality>_<n>"; real
# titles hold characters such as '#', '(', ')' and '!'.
_HMDB_POOL_CLASSES = ("brush_hair", "cartwheel", "wave")
_HMDB_TITLES = ("#20_Rhythm", "(Rad)Schlag_die_Bank!", "April_09", "Finding_Forrester_3", "Veoh_Alpha_Dog_1",
                "prelinger_LetsPlay1949")


def something_templates() -> list[str]:
    """The 174 Something-Something templates, sorted as the real label files are (label = position)."""
    templates = sorted(f"{action} {obj}" for action in _SS_ACTIONS for obj in _SS_OBJECTS)
    return templates[:SS_NUM_CLASSES]


def kinetics_classes() -> list[str]:
    """The 400 Kinetics-400 class names, sorted."""
    return sorted(f"{verb} {obj}" for verb in _K_VERBS for obj in _K_OBJECTS)


# ---- pixels -------------------------------------------------------------------------------------------------

def render(rng: np.random.Generator, width: int, height: int, num_frames: int) -> np.ndarray:
    """uint8 ``(F, H, W, 3)``: a textured gradient with two discs moving across it. Content does not matter
    here, only that codecs see real motion (static frames compress to almost nothing). Each disc is drawn in its
    bounding box, frame by frame: whole-frame float arithmetic made this the generator's main cost."""
    low, high = rng.uniform(0, 120, 3), rng.uniform(60, 200, 3)
    ramp = np.linspace(0, 1, width)[None, :, None]
    background = low + (high - low) * ramp + rng.normal(0, 6, (height, width, 1))  # (H, W, 3)
    frames = np.repeat(np.clip(background, 0, 255).astype(np.uint8)[None], num_frames, axis=0)
    for _ in range(2):
        start, end = rng.uniform(0, 1, 2) * (width, height), rng.uniform(0, 1, 2) * (width, height)
        radius = rng.uniform(0.1, 0.25) * min(width, height)
        colour = rng.uniform(150, 255, 3).astype(np.uint8)
        for f, t in enumerate(np.linspace(0, 1, num_frames)):
            cx, cy = start + (end - start) * t
            top, bottom = max(0, int(cy - radius)), min(height, int(cy + radius) + 1)
            left, right = max(0, int(cx - radius)), min(width, int(cx + radius) + 1)
            y, x = np.ogrid[top:bottom, left:right]
            frames[f, top:bottom, left:right][(x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2] = colour
    return frames


# ---- what to write ------------------------------------------------------------------------------------------

@dataclass
class Item:
    """One file (or SSv1 frame folder) to write: ``make()`` writes it at a temporary path."""
    path: Path
    make: Callable[[Path], None]
    folder: bool = False


@dataclass
class DatasetSummary:
    """What one dataset's generator wrote, for the summary: ids per split, the special ones, files on disk."""
    name: str
    train: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    missing: str = ""
    broken: str = ""
    short: str = ""
    on_disk: int = 0  # files (or frame folders) on disk, the broken one included

    @property
    def broken_fraction(self) -> float:
        """The broken share of the files that extraction sees (one shard)."""
        return 1 / self.on_disk


class Writer:
    """Collects the annotation files (written when their content differs) and the videos (written when absent)."""

    def __init__(self, root: Path, seed: int, sizes: Sizes):
        self.root, self.seed, self.sizes = root, seed, sizes
        self.texts: dict[Path, bytes] = {}
        self.items: list[Item] = []

    def rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, *key))

    def text(self, rel: str, text: str, newline: str = "\n") -> None:
        self.texts[self.root / rel] = text.replace("\n", newline).encode("utf-8")

    def video(self, rel: str, fmt: Format, index: int, key: tuple[int, ...], frames: int | None = None,
              damage: Callable[[bytes, np.random.Generator], bytes] | None = None) -> None:
        """A video of ``fmt``'s ``index``-th size; ``frames`` overrides the length, ``damage`` turns its bytes
        into a broken file."""
        width, height, length = fmt.at(index, self.sizes.small)
        length = length if frames is None else frames

        def make(tmp: Path) -> None:
            rng = self.rng(*key)
            encode_video(tmp, render(rng, width, height, length), fps=fmt.fps)
            if damage is not None:
                tmp.write_bytes(damage(tmp.read_bytes(), rng))
        self.items.append(Item(self.root / rel, make))

    def frame_folder(self, rel: str, fmt: Format, index: int, key: tuple[int, ...],
                     frames: int | None = None) -> None:
        """A Something-Something V1 frame folder (``00001.jpg ...``); ``frames=0`` leaves it empty."""
        width, height, length = fmt.at(index, self.sizes.small)
        length = length if frames is None else frames

        def make(tmp: Path) -> None:
            tmp.mkdir()
            for i, image in enumerate(render(self.rng(*key), width, height, length), 1):
                Image.fromarray(image).save(tmp / f"{i:05d}.jpg", quality=90)
        self.items.append(Item(self.root / rel, make, folder=True))


def _ids(rng: np.random.Generator, count: int, high: int) -> list[str]:
    """``count`` distinct numeric video ids (as strings) in 1..high, in random order."""
    return [str(int(i) + 1) for i in rng.choice(high, count, replace=False)]


def _truncate(keep: float) -> Callable[[bytes, np.random.Generator], bytes]:
    """A download cut off after ``keep`` of its bytes."""
    return lambda data, rng: data[:int(len(data) * keep)]


def _garbage(data: bytes, rng: np.random.Generator) -> bytes:
    """Bytes that are no video at all (an HTML error page saved under the video's name, say)."""
    return rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()


def _csv_text(header: list[str] | None, rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# ---- the datasets -------------------------------------------------------------------------------------------

def _sthv1(w: Writer) -> DatasetSummary:
    classes = [sthv2_class(t) for t in something_templates()]
    rng = w.rng(1)
    ids = _ids(rng, w.sizes.train + w.sizes.val + 1, 108499)
    ds = DatasetSummary("sthv1", ids[:w.sizes.train], ids[w.sizes.train:-1])
    test_id = ids[-1]
    ds.broken, ds.missing, ds.short = ds.train[0], ds.val[0], ds.val[1]
    labels = {vid: int(rng.integers(len(classes))) for vid in ds.train + ds.val}
    base = "something-something-v1"
    w.text(f"{base}/annotations/something-something-v1-labels.csv", "".join(f"{c}\n" for c in classes))
    for split, name in (("train", "train"), ("val", "validation")):
        w.text(f"{base}/annotations/something-something-v1-{name}.csv",
               "".join(f"{vid};{classes[labels[vid]]}\n" for vid in getattr(ds, split)))
    w.text(f"{base}/annotations/something-something-v1-test.csv", f"{test_id}\n")
    for i, vid in enumerate(ds.train + ds.val):
        if vid == ds.missing:
            continue
        frames = 0 if vid == ds.broken else SHORT_FRAMES if vid == ds.short else None
        w.frame_folder(f"{base}/20bn-something-something-v1/{vid}", SSV1, i, (1, i), frames)
        ds.on_disk += 1
    return ds


def _fill(template: str, rng: np.random.Generator) -> tuple[str, list[str]]:
    """An SSv2 entry's ``label`` (the template with its placeholders filled in, lower-case start) and
    ``placeholders``."""
    things = [_THINGS[int(rng.integers(len(_THINGS)))] for _ in re.findall(r"\[[^\]]*\]", template)]
    filled = iter(things)
    label = re.sub(r"\[[^\]]*\]", lambda _: next(filled), template)
    return label[:1].lower() + label[1:], things


def _sthv2(w: Writer) -> DatasetSummary:
    templates = something_templates()
    rng = w.rng(2)
    ids = _ids(rng, w.sizes.train + w.sizes.val + 1, 220847)
    ds = DatasetSummary("sthv2", ids[:w.sizes.train], ids[w.sizes.train:-1])
    test_id = ids[-1]
    ds.broken, ds.missing, ds.short = ds.train[0], ds.val[0], ds.val[1]
    base = "something-something-v2"
    w.text(f"{base}/annotations/something-something-v2-labels.json",
           json.dumps({sthv2_class(t): str(i) for i, t in enumerate(templates)}, indent=1) + "\n")
    for split, name in (("train", "train"), ("val", "validation")):
        entries = []
        for vid in getattr(ds, split):
            template = templates[int(rng.integers(len(templates)))]
            label, things = _fill(template, rng)
            entries.append({"id": vid, "label": label, "template": template, "placeholders": things})
        w.text(f"{base}/annotations/something-something-v2-{name}.json", json.dumps(entries, indent=1) + "\n")
    w.text(f"{base}/annotations/something-something-v2-test.json", json.dumps([{"id": test_id}], indent=1) + "\n")
    for i, vid in enumerate(ds.train + ds.val):
        if vid == ds.missing:
            continue
        # A cut WebM still states its full duration in its header, which is how extraction tells it is cut.
        w.video(f"{base}/20bn-something-something-v2/{vid}.webm", SSV2, i, (2, i),
                SHORT_FRAMES if vid == ds.short else None, _truncate(0.4) if vid == ds.broken else None)
        ds.on_disk += 1
    return ds


_YTID_CHARS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))


def _ytid(rng: np.random.Generator) -> str:
    return "".join(rng.choice(_YTID_CHARS, 11))


def _kinetics(w: Writer) -> tuple[DatasetSummary, DatasetSummary]:
    """Kinetics-400 and its Mini-Kinetics-200 subset. The training CSV has a row for every class (the class list
    comes from it), of which only ``train`` have a video; Mini-Kinetics takes every second class."""
    classes = kinetics_classes()
    mini = set(classes[::2])
    rng = w.rng(3)
    used: set[str] = set()

    def row(label: str, split: str) -> dict:
        ytid = _ytid(rng)
        while ytid in used:
            ytid = _ytid(rng)
        used.add(ytid)
        start = int(rng.integers(0, 290))
        return {"label": label, "youtube_id": ytid, "time_start": start, "time_end": start + 10, "split": split}

    train_rows = [row(label, "train") for label in classes]
    in_mini = np.array([c in mini for c in classes])
    # The training videos: classes of the subset but for the last (checking that Mini-Kinetics leaves it out).
    picks = [int(i) for i in rng.choice(np.flatnonzero(in_mini), w.sizes.train - 1, replace=False)]
    picks.append(int(rng.choice(np.flatnonzero(~in_mini))))
    # Real YouTube ids may start with '-' (an option to many command lines).
    train_rows[picks[0]]["youtube_id"] = "-" + train_rows[picks[0]]["youtube_id"][1:]
    val_rows = [row(classes[int(i)], "val") for i in rng.choice(np.flatnonzero(in_mini), w.sizes.val, replace=False)]
    test_rows = [{k: v for k, v in row(classes[0], "test").items() if k != "label"}]

    def video_id(r: dict) -> str:
        return f"{r['youtube_id']}_{r['time_start']:06d}_{r['time_end']:06d}"

    k400 = DatasetSummary("kinetics400", [video_id(train_rows[i]) for i in picks], [video_id(r) for r in val_rows])
    k400.broken, k400.missing, k400.short = k400.train[1], k400.val[0], k400.val[1]
    header = ["label", "youtube_id", "time_start", "time_end", "split", "is_cc"]
    csvs = {"train.csv": _csv_text(header, [[*r.values(), 0] for r in train_rows]),
            "validate.csv": _csv_text(header, [[*r.values(), 0] for r in val_rows]),
            "test.csv": _csv_text(header[1:5], [list(r.values()) for r in test_rows])}
    for name, text in csvs.items():
        w.text(f"kinetics400/annotations/{name}", text)
    w.text("minikinetics200/annotations/train_ytid_list.txt",
           "".join(f"{r['youtube_id']}\n" for r in train_rows if r["label"] in mini))
    w.text("minikinetics200/annotations/val_ytid_list.txt",
           "".join(f"{r['youtube_id']}\n" for r in val_rows if r["label"] in mini))
    rows = [("train", train_rows[i]) for i in picks] + [("val", r) for r in val_rows]
    for i, (split, r) in enumerate(rows):
        vid = video_id(r)
        if vid == k400.missing:
            continue
        # An interrupted download: MP4 keeps its index at the end, so the cut file does not open at all.
        w.video(f"kinetics400/videos/{split}/{r['label']}/{vid}.mp4", KINETICS, i, (3, i),
                SHORT_FRAMES if vid == k400.short else None, _truncate(0.6) if vid == k400.broken else None)
        k400.on_disk += 1
    minik = DatasetSummary("minikinetics200", [video_id(train_rows[i]) for i in picks if classes[i] in mini], k400.val,
                    k400.missing, k400.broken, k400.short, k400.on_disk)
    return k400, minik


def _pool_roles(pool: int) -> tuple[list[int | None], int, int, int]:
    """UCF101 / HMDB51: for each pool video the split (0-2) whose test part holds it, or None for a video in
    the training part of every split; and the indices of the missing, broken and short videos, placed so that
    every split keeps good training and test videos."""
    test_split = [None if i % 4 == 3 else i % 4 for i in range(pool)]
    return test_split, 3, 4, 5  # missing: training everywhere; broken: test of split 1; short: test of split 2


def _ucf101(w: Writer) -> list[DatasetSummary]:
    test_split, missing, broken, short = _pool_roles(w.sizes.pool)
    names, classes, clips = [], [], {}
    for i, split in enumerate(test_split):
        # Classes rotate apart from the splits, so that each split tests several classes.
        cls = _UCF_POOL_CLASSES[(i + i // 4) % len(_UCF_POOL_CLASSES)]
        # Split k tests groups 7k+1..7k+7; groups 22-25 are always training.
        group = 22 + (i // 4) % 4 if split is None else 7 * split + 1 + (i // 4) % 7
        clips[cls, group] = clip = clips.get((cls, group), 0) + 1
        names.append(f"v_{_UCF_FILE_CLASS.get(cls, cls)}_g{group:02d}_c{clip:02d}")
        classes.append(cls)
    number = {c: i + 1 for i, c in enumerate(UCF101_CLASSES)}
    base = "ucf101"
    # The official lists have Windows line ends.
    w.text(f"{base}/ucfTrainTestlist/classInd.txt", "".join(f"{number[c]} {c}\n" for c in UCF101_CLASSES), "\r\n")
    splits = []
    for k in range(3):
        train = [i for i, s in enumerate(test_split) if s != k]
        test = [i for i, s in enumerate(test_split) if s == k]
        w.text(f"{base}/ucfTrainTestlist/trainlist0{k + 1}.txt",
               "".join(f"{classes[i]}/{names[i]}.avi {number[classes[i]]}\n" for i in train), "\r\n")
        w.text(f"{base}/ucfTrainTestlist/testlist0{k + 1}.txt",
               "".join(f"{classes[i]}/{names[i]}.avi\n" for i in test), "\r\n")
        splits.append(DatasetSummary(f"ucf101 split {k + 1}", [names[i] for i in train], [names[i] for i in test],
                              names[missing], names[broken], names[short]))
    for i in range(w.sizes.pool):
        if i == missing:
            continue
        # Cut in the middle: AVI states its frame count in the header, which tells extraction the file is cut.
        w.video(f"{base}/UCF-101/{classes[i]}/{names[i]}.avi", UCF101, i, (4, i),
                SHORT_FRAMES if i == short else None, _truncate(0.5) if i == broken else None)
    for ds in splits:
        ds.on_disk = w.sizes.pool - 1
    return splits


def _hmdb51(w: Writer) -> list[DatasetSummary]:
    test_split, missing, broken, short = _pool_roles(w.sizes.pool)
    names, classes = [], []
    for i in range(w.sizes.pool):
        cls = _HMDB_POOL_CLASSES[i % len(_HMDB_POOL_CLASSES)]
        title = _HMDB_TITLES[i % len(_HMDB_TITLES)]
        names.append(f"{title}_{cls}_{'fhu'[i % 3]}_{('cm', 'nm')[i % 2]}_np1_{('fr', 'le', 'ri')[i % 3]}_"
                     f"{('goo', 'med', 'bad')[i % 3]}_{i // len(_HMDB_TITLES)}")
        classes.append(cls)
    splits = []
    for k in range(3):
        # 1 = training, 2 = test, 0 = unused: a video trained on everywhere else sits out one split in four.
        tags = [2 if s == k else 0 if s is None and (i // 4) % 3 == k else 1 for i, s in enumerate(test_split)]
        for cls in HMDB51_CLASSES:
            w.text(f"hmdb51/testTrainMulti_7030_splits/{cls}_test_split{k + 1}.txt",
                   "".join(f"{names[i]}.avi {tags[i]} \n" for i in range(w.sizes.pool) if classes[i] == cls))
        splits.append(DatasetSummary(f"hmdb51 split {k + 1}", [names[i] for i, t in enumerate(tags) if t == 1],
                              [names[i] for i, t in enumerate(tags) if t == 2], names[missing], names[broken],
                              names[short], w.sizes.pool - 1))
    for i in range(w.sizes.pool):
        if i != missing:
            w.video(f"hmdb51/videos/{classes[i]}/{names[i]}.avi", HMDB51, i, (5, i),
                    SHORT_FRAMES if i == short else None, _garbage if i == broken else None)
    return splits


# ---- ImageNet weights ---------------------------------------------------------------------------------------

WEIGHT_FILES = {"resnet50": "resnet50-0676ba61.pth", "resnet101": "resnet101-63fe2227.pth",
                "inception_v3": "inception_v3_google-0cc3c7bd.pth"}


def weight_bytes(backbone: str, seed: int) -> bytes:
    """torchvision's ``backbone`` randomly initialised from ``seed``, its state dict as ``torch.save`` writes it.
    Saved to memory: a file's name goes into the archive, and a temporary name would make every run's bytes
    differ."""
    import torch
    import torchvision

    torch.manual_seed(seed)
    if backbone == "inception_v3":
        # The original inception_v3_google file holds the auxiliary classifier too.
        model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True)
    else:
        model = getattr(torchvision.models, backbone)(weights=None)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


# ---- the whole ----------------------------------------------------------------------------------------------

DATASET_DIRS = ("something-something-v1", "something-something-v2", "kinetics400", "minikinetics200", "ucf101",
                "hmdb51", "weights")


def _check_root(root: Path, stamp: dict) -> None:
    """Refuse a root written with other arguments, or holding data that this generator did not write."""
    path = root / STAMP
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old != stamp:
            raise ValueError(f"{root} holds rehearsal data written with other arguments ({old}); use another "
                             "--out or delete it first")
        return
    foreign = [name for name in DATASET_DIRS if (root / name).is_dir() and any((root / name).iterdir())]
    if foreign:
        raise ValueError(f"{root} already holds {', '.join(foreign)} not written by this generator (no {STAMP}); "
                         "choose an empty folder")


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return True


def make_rehearsal(root: str | Path, seed: int = 0, sizes: Sizes = Sizes(), weights: bool = True,
                   progress: bool = True) -> dict:
    """Write the six datasets and (with ``weights``) the three ImageNet weight files under ``root``. Returns
    ``{"datasets": [DatasetSummary, ...], "written": files written, "kept": files already there}``."""
    sizes.check()
    root = Path(root)
    stamp = {"generator": "ctnet.data.rehearsal", "seed": seed, **asdict(sizes)}
    _check_root(root, stamp)
    root.mkdir(parents=True, exist_ok=True)
    _write_if_changed(root / STAMP, (json.dumps(stamp, indent=1) + "\n").encode())

    w = Writer(root, seed, sizes)
    datasets = [_sthv1(w), _sthv2(w), *_kinetics(w), *_ucf101(w), *_hmdb51(w)]
    written = kept = 0
    for path, data in w.texts.items():
        changed = _write_if_changed(path, data)
        written, kept = written + changed, kept + (not changed)
    todo = [item for item in w.items if not item.path.exists()]
    kept += len(w.items) - len(todo)
    for item in progress_bar(todo, desc="rehearsal videos", unit="video", disable=not progress):
        if item.folder:
            # A frame folder appears complete or not at all, as extraction's do (hidden while written).
            tmp = item.path.parent / f".tmp_{item.path.name}"
            shutil.rmtree(tmp, ignore_errors=True)
            item.path.parent.mkdir(parents=True, exist_ok=True)
            item.make(tmp)
            os.replace(tmp, item.path)
        else:
            with atomic_path(item.path) as tmp:
                item.make(tmp)
        written += 1
    if weights:
        for backbone, name in progress_bar(WEIGHT_FILES.items(), desc="ImageNet weight files", unit="file",
                                           disable=not progress):
            changed = _write_if_changed(root / "weights" / name, weight_bytes(backbone, seed))
            written, kept = written + changed, kept + (not changed)
    return {"datasets": datasets, "written": written, "kept": kept}
