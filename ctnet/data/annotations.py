"""The six datasets' official annotation files -> one record list per split, plus the class names in label order.

Each parser takes the folder of official files and a *frame index* (``video_id -> (frame_dir, num_frames)``,
from the extraction manifests or a scan of the frames folder). Videos missing from the index are returned
separately and never stop the run: copies of Kinetics lose several percent of their videos.
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..atomic import write_text_atomic
from .frames import count_frames, read_manifests


@dataclass(frozen=True)
class Record:
    video_id: str
    frame_dir: str  # relative to the frames root
    num_frames: int
    label: int


@dataclass
class Splits:
    """Parsed annotations: ``records[split]`` (``train``/``val``), class names, and ``missing[split]`` ids."""
    classes: list[str]
    records: dict[str, list[Record]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)


FrameIndex = dict[str, tuple[str, int]]  # video_id -> (frame_dir, num_frames)


def index_frames(frames_root: str | Path, filename_prefix: str = "img_") -> FrameIndex:
    """``video_id -> (frame_dir, num_frames)`` for the extracted videos under ``frames_root``: from the
    extraction manifests when present, else by counting the frame files of each folder (Something-Something V1
    ships frames, numbered ``00001.jpg``, so pass ``filename_prefix=""`` there)."""
    frames_root = Path(frames_root)
    if not frames_root.is_dir():
        raise FileNotFoundError(f"--frames {frames_root}: no such folder; extract the frames first "
                                "(scripts/extract_frames.py)")
    manifest = read_manifests(frames_root)
    if manifest:
        return {vid: (vid, n) for vid, n in manifest.items() if n > 0}
    index = {}
    with os.scandir(frames_root) as entries:
        for entry in entries:
            if entry.is_dir() and not entry.name.startswith("."):
                n = count_frames(Path(entry.path), filename_prefix)
                if n:
                    index[entry.name] = (entry.name, n)
    return index


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; --annotations must point at the folder of the dataset's "
                                "official annotation files (see docs/data.md)")
    return path


def _glob_one(folder: Path, patterns: Iterable[str], what: str) -> Path:
    for pattern in patterns:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    raise FileNotFoundError(f"no {what} in {folder} (looked for {', '.join(patterns)}); point --annotations at "
                            "the folder of the official files")


def _malformed(where: str, problem: str, expected: str) -> ValueError:
    """The error for an entry that does not parse, naming the file (and line or entry), so that build_lists.py's
    one-line message says where and what to fix instead of a bare KeyError or IndexError."""
    return ValueError(f"{where}: {problem}; expected {expected}, as in the dataset's official file (repair it or "
                      "download it again)")


def _load_json(path: Path, kind: type, expected: str):
    """A JSON file whose top level must be a ``kind`` (``dict`` or ``list``)."""
    with open(_require(path), encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as exc:
            raise _malformed(f"{path}:{exc.lineno}", f"not valid JSON ({exc.msg}, column {exc.colno})",
                             expected) from None
    if not isinstance(data, kind):
        raise _malformed(str(path), f"the top level is a {type(data).__name__}", expected)
    return data


def _assemble(classes: list[str], items: dict[str, list[tuple[str, int]]], index: FrameIndex) -> Splits:
    """``items[split]`` = ``[(video_id, label)]`` -> records for the videos in the index, the rest missing."""
    splits = Splits(classes)
    for split, pairs in items.items():
        records, missing = [], []
        for video_id, label in pairs:
            found = index.get(video_id)
            if found is None:
                missing.append(video_id)
            else:
                records.append(Record(video_id, found[0], found[1], label))
        splits.records[split], splits.missing[split] = records, missing
    return splits


KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end")


def _kinetics_rows(folder: Path) -> dict[str, list[dict]]:
    """The official Kinetics-400 CSVs (``label,youtube_id,time_start,time_end,split[,is_cc]``) by split."""
    files = {"train": _glob_one(folder, ["*train*.csv"], "Kinetics training CSV"),
             "val": _glob_one(folder, ["*val*.csv"], "Kinetics validation CSV")}
    rows = {}
    for split, path in files.items():
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not set(KINETICS_COLUMNS) <= set(reader.fieldnames or []):
                raise ValueError(f"{path}: expected the columns label,youtube_id,time_start,time_end,split of the "
                                 "official Kinetics-400 CSVs")
            rows[split] = []
            for row in reader:
                # The id is computed here, where the line number is known, so that a bad row names its line.
                row["video_id"] = kinetics_video_id(row, f"{path}:{reader.line_num}")
                rows[split].append(row)
    return rows


def kinetics_video_id(row: dict, where: str) -> str:
    """``<youtube_id>_<start:06d>_<end:06d>``, the file name of the official download scripts; ``where`` (the
    file and line of the row) goes into the error for a short row or a non-numeric time."""
    expected = "label,youtube_id,time_start,time_end,split with numeric times"
    if any(row.get(column) is None for column in KINETICS_COLUMNS):
        raise _malformed(where, "too few fields", expected)
    try:
        start, end = int(float(row["time_start"])), int(float(row["time_end"]))
    except ValueError:
        raise _malformed(where, f"time_start {row['time_start']!r} or time_end {row['time_end']!r} is not a number",
                         expected) from None
    return f"{row['youtube_id']}_{start:06d}_{end:06d}"


def _kinetics_items(folder: Path, rows: dict[str, list[dict]]) -> tuple[list[str], dict]:
    """Classes (the training labels, sorted) and ``(video_id, label)`` pairs per split."""
    classes = sorted({r["label"] for r in rows["train"]})
    label_of = {name: i for i, name in enumerate(classes)}
    unknown = sorted({r["label"] for r in rows["val"]} - set(label_of))
    if unknown:
        raise ValueError(f"{folder}: validation classes {unknown[:3]} never occur in training; use the CSVs of one "
                         "release")
    items = {split: [(r["video_id"], label_of[r["label"]]) for r in split_rows]
             for split, split_rows in rows.items()}
    return classes, items


def parse_kinetics400(folder: Path, index: FrameIndex) -> Splits:
    return _assemble(*_kinetics_items(folder, _kinetics_rows(folder)), index)


def parse_minikinetics200(folder: Path, index: FrameIndex, kinetics_folder: Path | None = None) -> Splits:
    """Mini-Kinetics-200 (Xie et al. 2018): the Kinetics-400 CSVs restricted to ``train_ytid_list.txt`` and
    ``val_ytid_list.txt`` (one YouTube id per line); the classes are the 200 that the subset covers, sorted. The
    release is the two lists alone: the CSVs are read from ``kinetics_folder`` (Kinetics-400's annotations), or
    from ``folder`` where a copy lies beside the lists."""
    has_csv = any(folder.glob("*train*.csv"))
    rows = _kinetics_rows(folder if has_csv or kinetics_folder is None else Path(kinetics_folder))
    subset = {}
    for split, name in (("train", "train_ytid_list.txt"), ("val", "val_ytid_list.txt")):
        with open(_require(folder / name), encoding="utf-8") as f:
            subset[split] = {line.strip() for line in f if line.strip()}
    rows = {split: [r for r in split_rows if r["youtube_id"] in subset[split]] for split, split_rows in rows.items()}
    return _assemble(*_kinetics_items(folder, rows), index)


def parse_sthv1(folder: Path, index: FrameIndex) -> Splits:
    """Something-Something V1: ``something-something-v1-labels.csv`` (a class per line, in label order) and
    ``-train.csv`` / ``-validation.csv`` (``id;class name``)."""
    with open(_require(folder / "something-something-v1-labels.csv"), encoding="utf-8") as f:
        classes = [line.strip() for line in f if line.strip()]
    label_of = {name: i for i, name in enumerate(classes)}
    items = {}
    for split, name in (("train", "something-something-v1-train.csv"),
                        ("val", "something-something-v1-validation.csv")):
        path = _require(folder / name)
        pairs = []
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                video_id, _, class_name = line.strip().partition(";")
                if class_name not in label_of:
                    raise ValueError(f"{path}:{line_no}: class {class_name!r} is not in "
                                     "something-something-v1-labels.csv; use the files of one release")
                pairs.append((video_id, label_of[class_name]))
        items[split] = pairs
    return _assemble(classes, items, index)


def sthv2_class(template: str) -> str:
    """The SSv2 class of a template: ``"Putting [something] on [something]"`` -> ``"Putting something on something"``."""
    return template.replace("[", "").replace("]", "")


SSV2_ENTRY = 'a list of {"id": ..., "label": ..., "template": ..., "placeholders": [...]} entries'


def _sthv2_file(folder: Path, name: str) -> Path:
    """``something-something-v2-<name>``, the name of the official download (and of MMAction2's
    tools/data/parse_file_list.py), else ``<name>``, which the synthetic dataset writes."""
    official = folder / f"something-something-v2-{name}"
    if official.is_file() or not (folder / name).is_file():
        return _require(official)
    return folder / name


def parse_sthv2(folder: Path, index: FrameIndex) -> Splits:
    """Something-Something V2 (and the synthetic dataset): ``something-something-v2-labels.json``
    (``{class: "label"}``), ``-train.json`` / ``-validation.json`` (``[{"id", "label", "template",
    "placeholders"}]``); the synthetic dataset's files lack the prefix (``labels.json``, ...)."""
    labels = _sthv2_file(folder, "labels.json")
    label_of = {}
    for name, label in _load_json(labels, dict, '{"class name": "0-based label"}').items():
        try:
            label_of[name] = int(label)
        except (TypeError, ValueError):
            raise _malformed(str(labels), f"class {name!r} has label {label!r}", "an integer label") from None
    classes = [name for name, _ in sorted(label_of.items(), key=lambda kv: kv[1])]
    if [label_of[c] for c in classes] != list(range(len(classes))):
        raise ValueError(f"{labels}: the labels must be 0..{len(classes) - 1} without gaps")
    items = {}
    for split, name in (("train", "train.json"), ("val", "validation.json")):
        path = _sthv2_file(folder, name)
        pairs = []
        for number, entry in enumerate(_load_json(path, list, SSV2_ENTRY), 1):
            if not isinstance(entry, dict) or "id" not in entry:
                raise _malformed(f"{path}, entry {number}", "no 'id'", SSV2_ENTRY)
            if not isinstance(entry.get("template"), str):
                raise _malformed(f"{path}, entry {number}", f"video {entry['id']} has no 'template' text", SSV2_ENTRY)
            class_name = sthv2_class(entry["template"])
            if class_name not in label_of:
                raise ValueError(f"{path}: video {entry['id']} has template {entry['template']!r}, whose class is "
                                 f"not in {labels.name}; use the files of one release")
            pairs.append((str(entry["id"]), label_of[class_name]))
        items[split] = pairs
    return _assemble(classes, items, index)


def parse_ucf101(folder: Path, index: FrameIndex, split_number: int = 1) -> Splits:
    """UCF101: ``classInd.txt`` (``1 ApplyEyeMakeup``), ``trainlist0N.txt`` (``Class/v_....avi label``) and
    ``testlist0N.txt`` (``Class/v_....avi``); labels become 0-based."""
    classes_by_number = {}
    path = _require(folder / "classInd.txt")
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or not fields[0].isdigit():
                raise _malformed(f"{path}:{line_no}", f"got {line.strip()!r}", "'NUMBER ClassName' lines "
                                 "(e.g. '1 ApplyEyeMakeup')")
            classes_by_number[int(fields[0])] = fields[1]
    classes = [classes_by_number[n] for n in sorted(classes_by_number)]
    label_of = {name: i for i, name in enumerate(classes)}
    items = {}
    for split, name in (("train", f"trainlist0{split_number}.txt"), ("val", f"testlist0{split_number}.txt")):
        pairs = []
        with open(_require(folder / name), encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                if line.strip():
                    rel = line.split()[0]
                    if rel.split("/")[0] not in label_of:
                        raise ValueError(f"{folder / name}:{line_no}: {rel} is in no class of classInd.txt; use "
                                         "the official files of one release")
                    pairs.append((Path(rel).stem, label_of[rel.split("/")[0]]))
        items[split] = pairs
    return _assemble(classes, items, index)


def parse_hmdb51(folder: Path, index: FrameIndex, split_number: int = 1) -> Splits:
    """HMDB51: ``<class>_test_split{N}.txt`` per class, lines ``video.avi tag`` (1 = train, 2 = test,
    0 = unused); classes sorted by name."""
    files = sorted(folder.glob(f"*_test_split{split_number}.txt"))
    if not files:
        raise FileNotFoundError(f"no *_test_split{split_number}.txt files in {folder}; point --annotations at "
                                "the unpacked HMDB51 split files")
    pattern = re.compile(rf"^(.*)_test_split{split_number}\.txt$")
    classes = sorted(pattern.match(p.name).group(1) for p in files)
    label_of = {name: i for i, name in enumerate(classes)}
    items = {"train": [], "val": []}
    for path in files:
        label = label_of[pattern.match(path.name).group(1)]
        with open(path, encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                if len(fields) == 2 and fields[1] in ("1", "2"):
                    items["train" if fields[1] == "1" else "val"].append((Path(fields[0]).stem, label))
    return _assemble(classes, items, index)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    write_text_atomic(path, "".join(f"{line}\n" for line in lines))


def write_lists(splits: Splits, out: str | Path) -> dict[str, Path]:
    """``out/train.txt`` and ``out/val.txt`` (TSM format ``frame_dir num_frames label``), ``out/classes.txt``
    and ``out/missing.txt`` (``split video_id``, the annotated videos without frames)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"classes": out / "classes.txt", "missing": out / "missing.txt"}
    for split, records in splits.records.items():
        paths[split] = out / f"{split}.txt"
        _write_lines(paths[split], (f"{r.frame_dir} {r.num_frames} {r.label}" for r in records))
    _write_lines(paths["classes"], splits.classes)
    _write_lines(paths["missing"], (f"{split} {vid}" for split, ids in splits.missing.items() for vid in ids))
    return paths
