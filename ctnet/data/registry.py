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
    # (training, validation) videos of the official release (split 1 where there are several): what the cost
    # table counts before the annotation files are downloaded.
    official_videos: tuple[int, int] | None = None
    # (frames per video, width / height) of its videos, assumed from its clip lengths and frame rates (extraction
    # keeps every frame): only the frame storage estimate uses them. None for frames the dataset ships.
    typical_video: tuple[int, float] | None = None
    # The dataset kind whose annotation files hold its videos' rows (Mini-Kinetics-200 ships only lists of ids
    # over Kinetics-400's CSVs): the lists builder reads them from the source whose frames this one takes.
    rows_from: str | None = None

    @property
    def filename_tmpl(self) -> str:
        return self.frame_prefix + "{:05d}.jpg"


DATASETS: dict[str, DatasetKind] = {
    # The synthetic dataset is written in Something-Something V2's format.
    "synthetic": DatasetKind(parse_sthv2),
    # Something-Something V1 ships its frames, which the workflow reads where they are.
    "sthv1": DatasetKind(parse_sthv1, frame_prefix="", official_videos=(86017, 11522)),
    "sthv2": DatasetKind(parse_sthv2, official_videos=(168913, 24777),
                         typical_video=(45, 4 / 3)),              # 2-6 s clips at 12 fps, 240 px high
    "kinetics400": DatasetKind(parse_kinetics400, family="kinetics", official_videos=(240436, 19796),
                               typical_video=(300, 16 / 9)),      # 10 s YouTube clips at about 30 fps
    "minikinetics200": DatasetKind(parse_minikinetics200, family="kinetics", official_videos=(80000, 5000),
                                   typical_video=(300, 16 / 9), rows_from="kinetics400"),
    "ucf101": DatasetKind(parse_ucf101, splits=(1, 2, 3), official_videos=(9537, 3783),
                          typical_video=(186, 4 / 3)),            # 13,320 clips in 27 hours at 25 fps, 320 x 240
    "hmdb51": DatasetKind(parse_hmdb51, splits=(1, 2, 3), official_videos=(3570, 1530),
                          typical_video=(100, 4 / 3)),            # clips of a few seconds at 30 fps
}

# The datasets trained on appendix A.1's Kinetics schedule (ctnet.experiment's KINETICS_TRAIN_DEFAULTS).
KINETICS_DATASETS = tuple(name for name, kind in DATASETS.items() if kind.family == "kinetics")


def dataset_kind(name: str) -> DatasetKind:
    if name not in DATASETS:
        raise ValueError(f"dataset {name!r} is not registered; use one of {', '.join(DATASETS)} "
                         "(ctnet/data/registry.py)")
    return DATASETS[name]


def parse_annotations(dataset: str, annotations: str | Path, index: FrameIndex, split_number: int = 1,
                      rows_annotations: str | Path | None = None) -> Splits:
    """The dataset's parser on the folder of its official annotation files; `split_number` selects one of the
    official splits where there are several; `rows_annotations` is the annotation folder of its `rows_from` kind."""
    kind = dataset_kind(dataset)
    folder = Path(annotations)
    if not folder.is_dir():
        raise FileNotFoundError(f"--annotations {folder}: no such folder")
    if split_number not in kind.splits:
        raise ValueError(f"--split must be one of {', '.join(map(str, kind.splits))} for {dataset}, "
                         f"got {split_number}")
    if len(kind.splits) > 1:
        return kind.parse(folder, index, split_number)
    if kind.rows_from:
        return kind.parse(folder, index, rows_annotations)
    return kind.parse(folder, index)
