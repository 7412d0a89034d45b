"""The dataset registry: one entry per dataset kind (a `kind:` of the configuration's `sources:`), holding
everything the pipeline knows about that kind, so that a new dataset is one entry here plus its parser's tests.

Torch-free: the workflow reads it when it plans the run (the config schema's `kind` enum is checked against it by
a test).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .annotations import (FrameIndex, Splits, parse_hmdb51, parse_kinetics400, parse_minikinetics200, parse_sthv1,
                          parse_sthv2, parse_ucf101)


@dataclass(frozen=True)
class DatasetKind:
    """parse(annotations folder, frame index[, split]) -> Splits, from the official annotation files."""
    parse: Callable[..., Splits]
    # The frame files of one video: img_00001.jpg as extract_frames.py writes them; Something-Something V1 ships
    # its frames as 00001.jpg.
    frame_prefix: str = "img_"
    # The official splits (UCF101 and HMDB51 have three, each a train/test partition of the same videos).
    splits: tuple[int, ...] = (1,)
    # Appendix A.1's schedule family: "kinetics" (110 epochs, lr 0.01, dropout 0.5) or "other".
    family: str = "other"

    @property
    def filename_tmpl(self) -> str:
        return self.frame_prefix + "{:05d}.jpg"


DATASETS: dict[str, DatasetKind] = {
    # The synthetic motion dataset is written in Something-Something V2's format.
    "synthetic": DatasetKind(parse_sthv2),
    "sthv1": DatasetKind(parse_sthv1, frame_prefix=""),
    "sthv2": DatasetKind(parse_sthv2),
    "kinetics400": DatasetKind(parse_kinetics400, family="kinetics"),
    "minikinetics200": DatasetKind(parse_minikinetics200, family="kinetics"),
    "ucf101": DatasetKind(parse_ucf101, splits=(1, 2, 3)),
    "hmdb51": DatasetKind(parse_hmdb51, splits=(1, 2, 3)),
}


def dataset_kind(name: str) -> DatasetKind:
    if name not in DATASETS:
        raise ValueError(f"dataset {name!r} is not registered; use one of {', '.join(DATASETS)} "
                         "(ctnet/data/registry.py)")
    return DATASETS[name]


def parse_annotations(dataset: str, annotations: str | Path, index: FrameIndex, split_number: int = 1) -> Splits:
    """The dataset's parser on the folder of its official annotation files; `split_number` selects one of the
    official splits where there are several."""
    kind = dataset_kind(dataset)
    folder = Path(annotations)
    if not folder.is_dir():
        raise FileNotFoundError(f"--annotations {folder}: no such folder")
    if split_number not in kind.splits:
        raise ValueError(f"--split must be one of {', '.join(map(str, kind.splits))} for {dataset}, "
                         f"got {split_number}")
    if len(kind.splits) > 1:
        return kind.parse(folder, index, split_number)
    return kind.parse(folder, index)
