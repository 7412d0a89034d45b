"""Fixtures shared by the engine tests: one synthetic dataset, generated, extracted and listed once per session."""

import pytest
import torch

from ctnet.data.annotations import index_frames, write_lists
from ctnet.data.extract import extract_videos
from ctnet.data.registry import parse_annotations
from ctnet.data.synthetic import make_synthetic

from helpers import NUM_CLASSES


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread: on a small shared CPU, more threads than free cores spin and run many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def synthetic_lists(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, num_videos=160, seed=0, size=32, num_frames=16, num_classes=NUM_CLASSES, progress=False)
    extract_videos(root / "videos", root / "frames", short_side=0, progress=False)
    write_lists(parse_annotations("sthv2", root / "annotations", index_frames(root / "frames")), root / "lists")
    # A 16-video subset (4 per class) that a few CPU minutes of training can fit.
    lines = (root / "lists/train.txt").read_text().splitlines()
    subset = []
    for label in range(NUM_CLASSES):
        subset += [line for line in lines if line.split()[2] == str(label)][:4]
    (root / "lists/small.txt").write_text("\n".join(subset) + "\n")
    return root
