import json

import numpy as np
import pytest
import torch

from ctnet.data import build_dataset, seed_worker
from ctnet.data.annotations import index_frames, write_lists
from ctnet.data.registry import parse_annotations
from ctnet.data.synthetic import PAIRS, class_templates, make_synthetic, render_forward, split_sizes
from ctnet.data.transforms import check_flip_label_map
from ctnet.data.video import decode_frames
from helpers import load_script


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """make_synthetic -> extract_frames -> build_lists on a small dataset, through the command-line programs."""
    root = tmp_path_factory.mktemp("synthetic")
    for argv in (["make_synthetic", "--out", str(root / "raw"), "--num-videos", "40", "--size", "32",
                  "--frames", "12", "--num-classes", "10", "--seed", "3"],
                 ["extract_frames", "--videos", str(root / "raw" / "videos"), "--out", str(root / "frames"),
                  "--short-side", "0", "--workers", "2"],
                 ["build_lists", "--dataset", "synthetic", "--annotations", str(root / "raw" / "annotations"),
                  "--frames", str(root / "frames"), "--out", str(root / "lists")]):
        assert load_script(argv[0]).main(argv[1:]) == 0, argv[0]
    return root


def _data_cfg(root, **overrides):
    cfg = {"dataset": "synthetic", "frames_root": str(root / "frames"), "filename_tmpl": "img_{:05d}.jpg",
           "train_list": str(root / "lists" / "train.txt"), "val_list": str(root / "lists" / "val.txt"),
           "classes": str(root / "lists" / "classes.txt"), "num_frames": 4, "sampling": "sparse",
           "train_size": 24, "flip": True, "flip_label_map": {0: 1, 1: 0, 6: 7, 7: 6}}
    cfg.update(overrides)
    return cfg


def test_files_in_ssv2_format_with_both_containers(synthetic):
    raw = synthetic / "raw"
    labels = json.loads((raw / "annotations" / "labels.json").read_text())
    assert labels["Moving something from left to right"] == "0" and len(labels) == 10
    train = json.loads((raw / "annotations" / "train.json").read_text())
    val = json.loads((raw / "annotations" / "validation.json").read_text())
    assert len(train) + len(val) == 40 and {len(val)} == {10}  # 20 % of every class
    entry = train[0]
    assert set(entry) == {"id", "label", "template", "placeholders"}
    assert entry["placeholders"][0] in entry["label"].lower()
    suffixes = {p.suffix for p in (raw / "videos").iterdir()}
    assert suffixes == {".mp4", ".webm"}
    assert len(list(decode_frames(next((raw / "videos").glob("*.webm")), short_side=0))) == 12
    counts = np.bincount([int(labels[t["template"].replace("[", "").replace("]", "")]) for t in train + val])
    assert counts.tolist() == [4] * 10


def test_deterministic_by_seed(tmp_path):
    a = make_synthetic(tmp_path / "a", num_videos=20, seed=5, size=16, num_frames=4, progress=False)
    make_synthetic(tmp_path / "b", num_videos=20, seed=5, size=16, num_frames=4, progress=False)
    make_synthetic(tmp_path / "c", num_videos=20, seed=6, size=16, num_frames=4, progress=False)
    assert a == {"videos": 20, "train": 10, "val": 10, "classes": 10}
    read = lambda d: [(p.name, p.read_bytes()) for p in sorted((d / "annotations").iterdir())]
    assert read(tmp_path / "a") == read(tmp_path / "b") != read(tmp_path / "c")
    first = lambda d: np.stack([f.to_ndarray() for f in decode_frames(d / "videos" / "1.webm", 0)])
    np.testing.assert_array_equal(first(tmp_path / "a"), first(tmp_path / "b"))


@pytest.mark.parametrize("num_videos, num_classes, val_fraction", [(22, 4, 0.2), (30, 6, 0.4), (10, 4, 0.2)])
def test_split_sizes_are_those_make_synthetic_writes(tmp_path, num_videos, num_classes, val_fraction):
    """The cost table counts a synthetic source's videos with split_sizes, without generating it."""
    summary = make_synthetic(tmp_path, num_videos=num_videos, seed=0, size=16, num_frames=2, num_classes=num_classes,
                             val_fraction=val_fraction, progress=False)
    assert split_sizes(num_videos, num_classes, val_fraction) == (summary["train"], summary["val"])


@pytest.mark.parametrize("motion", [m for _, _, m in PAIRS])
def test_every_motion_changes_over_time(motion):
    frames, thing = render_forward(motion, np.random.default_rng(0), 32, 8)
    assert frames.shape == (8, 32, 32, 3) and frames.dtype == np.uint8
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 100  # first and last frames differ
    assert 2 <= len(thing.split()) <= 3


def test_direction_of_motion_is_the_class():
    rng = np.random.default_rng(1)
    frames, _ = render_forward("horizontal", rng, 48, 8)
    background_free = np.abs(frames.astype(int) - np.median(frames, axis=0)).sum(axis=(1, 3))  # (F, W)
    columns = [np.average(np.arange(48), weights=w + 1e-9) for w in background_free]
    assert columns[-1] > columns[0] + 5  # the forward class moves left to right


def test_class_names_and_flip_map():
    templates = class_templates(12)
    names = [t.replace("[", "").replace("]", "") for t in templates]
    assert names[:2] == ["Moving something from left to right", "Moving something from right to left"]
    assert check_flip_label_map({0: 1, 1: 0, 6: 7, 7: 6}, names, "synthetic") == {0: 1, 1: 0, 6: 7, 7: 6}
    for bad in (3, 14, 0):
        with pytest.raises(ValueError, match="even number from 2 to 12"):
            class_templates(bad)


def test_training_items_and_reproducible_loader(synthetic):
    dataset = build_dataset(_data_cfg(synthetic), "train")
    clip, label = dataset[0]
    assert clip.shape == (3, 4, 24, 24) and clip.dtype == torch.float32 and 0 <= label < 10

    def first_batch(seed):
        loader = torch.utils.data.DataLoader(dataset, batch_size=6, shuffle=True, num_workers=2,
                                             worker_init_fn=seed_worker,
                                             generator=torch.Generator().manual_seed(seed))
        return next(iter(loader))

    (a, la), (b, lb), (c, _) = first_batch(0), first_batch(0), first_batch(1)
    assert a.shape == (6, 3, 4, 24, 24)
    assert torch.equal(a, b) and torch.equal(la, lb) and not torch.equal(a, c)


def test_multi_view_items(synthetic):
    protocol = {"clips": 2, "clip_sampling": "twice", "crops": 3, "size": 32, "average": "scores"}
    dataset = build_dataset(_data_cfg(synthetic), "val", protocol)
    views, label, index = dataset[2]
    assert views.shape == (6, 3, 4, 32, 32)
    assert (label, index) == (dataset.labels[2], 2)
    assert len(dataset.video_ids) == len(dataset) == 10 and len(dataset.classes) == 10
    dense = build_dataset(_data_cfg(synthetic, sampling="dense", dense_stride=2), "val",
                          {"clips": 3, "clip_sampling": "uniform", "crops": 1, "size": 32})
    assert dense[0][0].shape == (3, 3, 4, 32, 32)


def test_clear_errors_for_bad_configs(synthetic, tmp_path):
    with pytest.raises(ValueError, match="lacks 'val_list'"):
        build_dataset({"frames_root": "x", "classes": "y"}, "val")
    with pytest.raises(ValueError, match="not left/right mirror images"):
        build_dataset(_data_cfg(synthetic, flip_label_map={0: 2, 2: 0}), "train")
    bad_list = tmp_path / "bad.txt"
    bad_list.write_text("video_without_counts\n")
    with pytest.raises(ValueError, match="bad.txt:1: expected 'frame_dir num_frames label'"):
        build_dataset(_data_cfg(synthetic, train_list=str(bad_list)), "train")
    wrong_root = build_dataset(_data_cfg(synthetic, frames_root=str(tmp_path)), "train")
    with pytest.raises(FileNotFoundError, match="re-extract the frames or rebuild the list"):
        wrong_root[0]


def test_lists_match_annotations(synthetic):
    splits = parse_annotations("synthetic", synthetic / "raw" / "annotations", index_frames(synthetic / "frames"))
    assert sum(len(r) for r in splits.records.values()) == 40 and not any(splits.missing.values())
    assert {r.num_frames for r in splits.records["train"]} == {12}
    paths = write_lists(splits, synthetic / "relisted")
    assert paths["train"].read_text() == (synthetic / "lists" / "train.txt").read_text()


def test_paired_classes_move_in_opposite_directions(synthetic):
    """Through the whole path (encode, extract, list, decode): label 0 moves right, label 1 moves left."""
    dataset = build_dataset(_data_cfg(synthetic, num_frames=12), "train")
    shifts = {0: [], 1: []}
    for entry in dataset.entries:
        if entry.label in shifts:
            frames = dataset.load_frames(entry, np.arange(entry.num_frames)).float()  # (F, 3, H, W)
            moving = (frames - frames.median(dim=0, keepdim=True).values).abs().sum(dim=(1, 2))  # (F, W)
            centre = (moving * torch.arange(frames.shape[-1])).sum(1) / moving.sum(1)
            shifts[entry.label].append(float(centre[-1] - centre[0]))
    assert shifts[0] and shifts[1]
    assert min(shifts[0]) > 2 and max(shifts[1]) < -2
