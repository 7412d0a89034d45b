"""The rehearsal data (ctnet/data/rehearsal.py): written once, small, at paper.yaml's layout; read back through
the pipeline's own extraction, parsers and weight loader."""
import json
import logging
from pathlib import Path

import av
import pytest
import yaml

from ctnet.data.annotations import index_frames
from ctnet.data.extract import extract_videos
from ctnet.data.registry import dataset_kind, parse_annotations
from ctnet.data.rehearsal import SHORT_FRAMES, STAMP, WEIGHT_FILES, Sizes, make_rehearsal
from ctnet.models import build_model

from helpers import ROOT, load_script

SMALL = Sizes(small=True)
CLASSES = {"sthv1": 174, "sthv2": 174, "kinetics400": 400, "minikinetics200": 200, "ucf101": 101, "hmdb51": 51}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The rehearsal root, paper.yaml's sources under it, and the extraction outcomes of every video source."""
    root = tmp_path_factory.mktemp("rehearsal")
    summary = make_rehearsal(root, sizes=SMALL, progress=False)
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    sources = {name: {key: str(root / value.removeprefix("data/")) if isinstance(value, str) and
                      value.startswith("data/") else value for key, value in source.items()}
               for name, source in paper["sources"].items()}
    outcomes = {}
    for name, source in sources.items():
        if "videos" in source:
            outcomes[name] = extract_videos(source["videos"], root / "frames" / name, short_side=0, progress=False)
    weights = {name: root / path.removeprefix("data/") for name, path in paper["imagenet_weights"].items()}
    return {"root": root, "summary": summary, "sources": sources, "outcomes": outcomes, "weights": weights}


def _index(data, name):
    source = data["sources"][name]
    if "frames" in source:
        return index_frames(source["frames"], dataset_kind(source["kind"]).frame_prefix)
    return index_frames(data["root"] / "frames" / source.get("frames_from", name))


def _summary(data, name):
    """What the generator says it wrote for source ``name`` (UCF101 and HMDB51: per split)."""
    source = data["sources"][name]
    kind = source["kind"]
    key = f"{kind} split {source.get('split', 1)}" if kind in ("ucf101", "hmdb51") else kind
    return {ds.name: ds for ds in data["summary"]["datasets"]}[key]


def test_layout_is_paper_yaml_under_the_root(data):
    for name, source in data["sources"].items():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                assert Path(source[key]).is_dir(), (name, key)
    assert all(path.is_file() for path in data["weights"].values())
    assert sorted(path.name for path in data["weights"].values()) == sorted(WEIGHT_FILES.values())


@pytest.mark.parametrize("name", ["sthv1", "sthv2", "kinetics400", "minikinetics200", "ucf101", "ucf101_split2",
                                  "ucf101_split3", "hmdb51", "hmdb51_split2", "hmdb51_split3"])
def test_every_source_parses_with_its_real_class_count(data, name):
    source = data["sources"][name]
    # Mini-Kinetics-200 ships its id lists alone: the rows are Kinetics-400's (DataSources.rows_annotations).
    rows = data["sources"]["kinetics400"]["annotations"] if name == "minikinetics200" else None
    splits = parse_annotations(source["kind"], source["annotations"], _index(data, name), source.get("split", 1),
                               rows)
    assert len(splits.classes) == CLASSES[source["kind"]]
    ds = _summary(data, name)
    found = {split: {r.video_id for r in records} for split, records in splits.records.items()}
    assert found["train"] and found["val"]
    assert found["train"] | found["val"] == set(ds.train + ds.val) - {ds.missing, ds.broken}
    missing = set(splits.missing["train"] + splits.missing["val"])
    assert ds.broken in missing  # no frames: a failed extraction, or SSv1's empty folder
    if ds.missing in ds.train + ds.val:  # HMDB51 leaves it out of the split where it is tagged 0
        assert ds.missing in missing
    records = {r.video_id: r for rs in splits.records.values() for r in rs}
    assert records[ds.short].num_frames == SHORT_FRAMES
    assert all(r.num_frames > SHORT_FRAMES for vid, r in records.items() if vid != ds.short)
    if source["kind"] in ("kinetics400", "minikinetics200"):
        # Every class has a training row, only a few a video: the rest are missing, and validation misses one.
        assert splits.missing["val"] == [ds.missing]


def test_extraction_fails_the_broken_video_only(data):
    for name, outcomes in data["outcomes"].items():
        ds = _summary(data, name)
        failed = [o.video_id for o in outcomes if o.reason]
        assert failed == [ds.broken], (name, [(o.video_id, o.reason) for o in outcomes if o.reason])
        assert len(outcomes) == ds.on_disk and 1 / len(outcomes) == ds.broken_fraction
        frames = {o.video_id: o.num_frames for o in outcomes}
        assert frames[ds.short] == SHORT_FRAMES and ds.missing not in frames


@pytest.mark.parametrize("name,container,codec", [
    ("sthv2", "matroska,webm", "vp9"), ("kinetics400", "mov,mp4,m4a,3gp,3g2,mj2", "h264"),
    ("ucf101", "avi", "mpeg4"), ("hmdb51", "avi", "mpeg4")])
def test_pyav_decodes_each_format(data, name, container, codec):
    good = next(o for o in data["outcomes"][name] if not o.reason)
    with av.open(good.path) as video:
        assert video.format.name == container and video.streams.video[0].codec_context.name == codec
        assert sum(1 for _ in video.decode(video=0)) == good.num_frames


def test_sthv1_frames_are_jpegs_as_shipped(data):
    folder = Path(data["sources"]["sthv1"]["frames"])
    first = next(p for p in sorted(folder.iterdir()) if any(p.iterdir()))
    assert (first / "00001.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("backbone", ["resnet50", "resnet101", "inception_v3"])
def test_weights_load_through_the_imagenet_loader(data, backbone, caplog):
    spec = {"backbone": backbone, "pretrained": str(data["weights"][backbone])}
    if backbone == "inception_v3":
        spec["replace"] = "every_second"
    with caplog.at_level(logging.WARNING):
        model = build_model(spec, num_classes=CLASSES["sthv1"])
    report = model.pretrained_report
    assert report["loaded"] and report["missing_2d"] == [] and report["mismatched"] == []
    # Only the ImageNet classifier (and Inception's auxiliary one, which torchvision's real file holds) and the
    # replaced convolutions find no place.
    replaced = tuple(f"{name}." for name in model.backbone.replaced)
    assert all(key.startswith(("fc.", "AuxLogits.") + replaced) for key in report["unused"])
    if backbone == "inception_v3":
        assert "AuxLogits.fc.weight" in report["unused"]


def test_rerun_writes_nothing_and_foreign_roots_are_refused(data, tmp_path, capsys):
    root = data["root"]
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and "frames" not in p.parts}
    main = load_script("make_rehearsal_data").main
    assert main(["--out", str(root), "--small"]) == 0
    assert "\n0 files written, " in capsys.readouterr().out
    assert before == {p: p.stat().st_mtime_ns for p in before}
    assert json.loads((root / STAMP).read_text())["small"] is True
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(root), "--small", "--seed", "1", "--no-weights"])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1 and "other arguments" in error
    (tmp_path / "ucf101" / "UCF-101").mkdir(parents=True)
    (tmp_path / "ucf101" / "UCF-101" / "x.avi").write_bytes(b"real data")
    with pytest.raises(ValueError, match="not written by this generator"):
        make_rehearsal(tmp_path, sizes=SMALL, weights=False, progress=False)
    with pytest.raises(ValueError, match="--pool must be at least 9"):
        make_rehearsal(tmp_path / "new", sizes=Sizes(pool=4), progress=False)
