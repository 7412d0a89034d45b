import json

import pytest

from ctnet.data.annotations import index_frames, sthv2_class, write_lists
from ctnet.data.registry import parse_annotations
from ctnet.data.dataset import read_classes, read_list
from helpers import load_script


def _frames_root(tmp_path, counts, name="img_{:05d}.jpg"):
    """A frames folder with ``counts[video_id]`` empty frame files per video (no manifest)."""
    root = tmp_path / "frames"
    for video_id, n in counts.items():
        (root / video_id).mkdir(parents=True)
        for i in range(1, n + 1):
            (root / video_id / name.format(i)).write_bytes(b"")
    root.mkdir(exist_ok=True)
    return root


def _triples(records):
    return [(r.frame_dir, r.num_frames, r.label) for r in records]


KINETICS_TRAIN = """label,youtube_id,time_start,time_end,split
abseiling,aaa,0,10,train
"passing American football (in game)",bbb,5,15,train
abseiling,ccc,12,22,train
"""
KINETICS_VAL = """label,youtube_id,time_start,time_end,split
"passing American football (in game)",ddd,30,40,val
abseiling,eee,1,11,val
"""


def test_kinetics400_ids_classes_and_missing_videos(tmp_path):
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "kinetics-400_train.csv").write_text(KINETICS_TRAIN)
    (ann / "kinetics-400_val.csv").write_text(KINETICS_VAL)
    index = {"aaa_000000_000010": ("aaa_000000_000010", 250), "bbb_000005_000015": ("bbb_000005_000015", 300),
             "ddd_000030_000040": ("ddd_000030_000040", 290)}
    splits = parse_annotations("kinetics400", ann, index)
    assert splits.classes == ["abseiling", "passing American football (in game)"]
    assert _triples(splits.records["train"]) == [("aaa_000000_000010", 250, 0), ("bbb_000005_000015", 300, 1)]
    assert _triples(splits.records["val"]) == [("ddd_000030_000040", 290, 1)]
    assert splits.missing == {"train": ["ccc_000012_000022"], "val": ["eee_000001_000011"]}


def test_minikinetics200_restricts_to_the_subset(tmp_path):
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "kinetics_400_train.csv").write_text(KINETICS_TRAIN)
    (ann / "kinetics_400_val.csv").write_text(KINETICS_VAL)
    (ann / "train_ytid_list.txt").write_text("bbb\nccc\n")
    (ann / "val_ytid_list.txt").write_text("ddd\n")
    index = {"bbb_000005_000015": ("bbb_000005_000015", 300), "ccc_000012_000022": ("ccc_000012_000022", 100),
             "ddd_000030_000040": ("ddd_000030_000040", 290)}
    splits = parse_annotations("minikinetics200", ann, index)
    assert splits.classes == ["abseiling", "passing American football (in game)"]
    assert _triples(splits.records["train"]) == [("bbb_000005_000015", 300, 1), ("ccc_000012_000022", 100, 0)]
    assert _triples(splits.records["val"]) == [("ddd_000030_000040", 290, 1)]


def test_minikinetics200_as_released_reads_the_rows_of_kinetics400(tmp_path):
    """The Mini-Kinetics-200 release is its two id lists alone: the rows come from Kinetics-400's CSVs (the
    rehearsal's real-format data found the parser reading them from the lists' folder only)."""
    kinetics, mini = tmp_path / "kinetics", tmp_path / "mini"
    kinetics.mkdir()
    mini.mkdir()
    (kinetics / "train.csv").write_text(KINETICS_TRAIN)
    (kinetics / "validate.csv").write_text(KINETICS_VAL)
    (mini / "train_ytid_list.txt").write_text("bbb\n")
    (mini / "val_ytid_list.txt").write_text("ddd\n")
    index = {"bbb_000005_000015": ("bbb_000005_000015", 300), "ddd_000030_000040": ("ddd_000030_000040", 290)}
    with pytest.raises(FileNotFoundError, match="no Kinetics training CSV"):
        parse_annotations("minikinetics200", mini, index)
    splits = parse_annotations("minikinetics200", mini, index, rows_annotations=kinetics)
    assert _triples(splits.records["train"]) == [("bbb_000005_000015", 300, 0)]
    assert _triples(splits.records["val"]) == [("ddd_000030_000040", 290, 0)]


def test_sthv1_with_its_own_frame_names(tmp_path):
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "something-something-v1-labels.csv").write_text("Holding something\nPushing something from left to right\n")
    (ann / "something-something-v1-train.csv").write_text("100218;Pushing something from left to right\n"
                                                          "42;Holding something\n")
    (ann / "something-something-v1-validation.csv").write_text("7;Holding something\n")
    frames = _frames_root(tmp_path, {"100218": 3, "7": 5}, name="{:05d}.jpg")
    splits = parse_annotations("sthv1", ann, index_frames(frames, filename_prefix=""))
    assert splits.classes == ["Holding something", "Pushing something from left to right"]
    assert _triples(splits.records["train"]) == [("100218", 3, 1)]
    assert splits.missing["train"] == ["42"]
    assert _triples(splits.records["val"]) == [("7", 5, 0)]
    (ann / "something-something-v1-validation.csv").write_text("7;Juggling\n")
    with pytest.raises(ValueError, match="'Juggling' is not in something-something-v1-labels.csv"):
        parse_annotations("sthv1", ann, {})


def test_sthv2_class_is_the_template_without_brackets(tmp_path):
    assert sthv2_class("Putting [something] on [something]") == "Putting something on something"
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "labels.json").write_text(json.dumps({"Putting something on something": "1", "Holding something": "0"}))
    (ann / "train.json").write_text(json.dumps([
        {"id": "5", "label": "putting a cup on a table", "template": "Putting [something] on [something]",
         "placeholders": ["a cup", "a table"]},
        {"id": "6", "label": "holding a pen", "template": "Holding [something]", "placeholders": ["a pen"]}]))
    (ann / "validation.json").write_text(json.dumps([
        {"id": "9", "label": "holding a pen", "template": "Holding [something]", "placeholders": ["a pen"]}]))
    splits = parse_annotations("sthv2", ann, {"5": ("5", 40), "9": ("9", 30)})
    assert splits.classes == ["Holding something", "Putting something on something"]
    assert _triples(splits.records["train"]) == [("5", 40, 1)]
    assert splits.missing == {"train": ["6"], "val": []}


def test_sthv2_reads_the_official_file_names(tmp_path):
    """The download names its files something-something-v2-{labels,train,validation}.json (MMAction2's
    tools/data/parse_file_list.py reads those); the synthetic dataset's labels.json, ... still parse."""
    entry = {"id": "5", "label": "holding a pen", "template": "Holding [something]", "placeholders": ["a pen"]}
    files = {"labels.json": json.dumps({"Holding something": "0"}), "train.json": json.dumps([entry]),
             "validation.json": "[]"}
    for prefix in ("something-something-v2-", ""):
        ann = tmp_path / (prefix or "short")
        ann.mkdir()
        for name, text in files.items():
            (ann / f"{prefix}{name}").write_text(text)
        splits = parse_annotations("sthv2", ann, {"5": ("5", 40)})
        assert splits.classes == ["Holding something"] and _triples(splits.records["train"]) == [("5", 40, 0)]
    # With both present, the official file wins.
    (ann / "something-something-v2-train.json").write_text("[]")
    assert parse_annotations("sthv2", ann, {"5": ("5", 40)}).records["train"] == []
    with pytest.raises(FileNotFoundError, match="something-something-v2-labels.json is missing"):
        parse_annotations("sthv2", tmp_path, {})


def test_ucf101_splits_and_zero_based_labels(tmp_path):
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 YoYo\n")
    (ann / "trainlist02.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nYoYo/v_YoYo_g09_c02.avi 2\n")
    (ann / "testlist02.txt").write_text("YoYo/v_YoYo_g01_c01.avi\n")
    index = {v: (v, 100) for v in ("v_ApplyEyeMakeup_g08_c01", "v_YoYo_g09_c02", "v_YoYo_g01_c01")}
    splits = parse_annotations("ucf101", ann, index, split_number=2)
    assert splits.classes == ["ApplyEyeMakeup", "YoYo"]
    assert _triples(splits.records["train"]) == [("v_ApplyEyeMakeup_g08_c01", 100, 0), ("v_YoYo_g09_c02", 100, 1)]
    assert _triples(splits.records["val"]) == [("v_YoYo_g01_c01", 100, 1)]
    with pytest.raises(FileNotFoundError, match="trainlist01.txt is missing"):
        parse_annotations("ucf101", ann, index, split_number=1)


def test_hmdb51_tags_one_train_two_test_zero_unused(tmp_path):
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "wave_test_split1.txt").write_text("w1.avi 1 \nw2.avi 2 \nw3.avi 0 \n")
    (ann / "brush_hair_test_split1.txt").write_text("b1.avi 2 \nb2.avi 1 \n")
    (ann / "wave_test_split2.txt").write_text("w1.avi 2 \n")
    index = {v: (v, 50) for v in ("w1", "w2", "w3", "b1", "b2")}
    splits = parse_annotations("hmdb51", ann, index)
    assert splits.classes == ["brush_hair", "wave"]
    assert sorted(_triples(splits.records["train"])) == [("b2", 50, 0), ("w1", 50, 1)]
    assert sorted(_triples(splits.records["val"])) == [("b1", 50, 0), ("w2", 50, 1)]


def test_index_prefers_manifests(tmp_path):
    frames = _frames_root(tmp_path, {"a": 2, "b": 3})
    assert index_frames(frames) == {"a": ("a", 2), "b": ("b", 3)}
    (frames / "manifest.shard-0-of-2.csv").write_text("video_id,num_frames\na,2\n")
    (frames / "manifest.shard-1-of-2.csv").write_text("video_id,num_frames\nb,3\n")
    assert index_frames(frames) == {"a": ("a", 2), "b": ("b", 3)}


def _ucf101_annotations(tmp_path, class_ind, trainlist, testlist):
    """A UCF101 annotation folder of split 1."""
    ann = tmp_path / "ann"
    ann.mkdir()
    for name, text in (("classInd.txt", class_ind), ("trainlist01.txt", trainlist), ("testlist01.txt", testlist)):
        (ann / name).write_text(text)
    return ann


def test_build_lists_command_writes_tsm_lists(tmp_path, capsys):
    ann = _ucf101_annotations(tmp_path, "1 Archery\n2 Biking\n",
                              "Archery/v_Archery_g01_c01.avi 1\nBiking/v_Biking_g02_c01.avi 2\n",
                              "Biking/v_Biking_g03_c01.avi\n")
    frames = _frames_root(tmp_path, {"v_Archery_g01_c01": 4, "v_Biking_g03_c01": 6})
    out = tmp_path / "lists"
    main = load_script("build_lists").main
    assert main(["--dataset", "ucf101", "--annotations", str(ann), "--frames", str(frames), "--out", str(out)]) == 0
    assert "train: 1 videos, 1 missing (50.0%)" in capsys.readouterr().out
    assert [(e.frame_dir, e.num_frames, e.label) for e in read_list(out / "train.txt")] == [("v_Archery_g01_c01", 4, 0)]
    assert (out / "val.txt").read_text() == "v_Biking_g03_c01 6 1\n"
    assert read_classes(out / "classes.txt") == ["Archery", "Biking"]
    assert (out / "missing.txt").read_text() == "train v_Biking_g02_c01\n"
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", "sthv2", "--annotations", str(ann), "--frames", str(frames), "--out", str(out)])
    assert exit_info.value.code == 2 and "labels.json is missing" in capsys.readouterr().err


def test_write_lists_round_trips(tmp_path):
    from ctnet.data.annotations import Record, Splits
    splits = Splits(["a b", "c"], {"train": [Record("x", "dir with space", 7, 1)], "val": []},
                    {"train": [], "val": ["y"]})
    paths = write_lists(splits, tmp_path)
    assert [(e.frame_dir, e.num_frames, e.label) for e in read_list(paths["train"])] == [("dir with space", 7, 1)]
    assert read_classes(paths["classes"]) == ["a b", "c"]


SSV2_LABELS = json.dumps({"Holding something": "0"})
SSV2_ENTRY = {"id": "6", "label": "holding a pen", "template": "Holding [something]", "placeholders": ["a pen"]}
UCF_LISTS = {"trainlist01.txt": "YoYo/v_YoYo_g09_c02.avi 1\n", "testlist01.txt": "YoYo/v_YoYo_g01_c01.avi\n"}


@pytest.mark.parametrize("dataset,files,where,says", [
    ("sthv2", {"labels.json": SSV2_LABELS, "train.json": '[{"id": "6",', "validation.json": "[]"},
     "train.json:1", "not valid JSON"),
    ("sthv2", {"labels.json": '{"Holding something": "zero"}', "train.json": "[]", "validation.json": "[]"},
     "labels.json", "label 'zero'"),
    ("sthv2", {"labels.json": SSV2_LABELS, "train.json": json.dumps({"6": SSV2_ENTRY}), "validation.json": "[]"},
     "train.json", "top level is a dict"),
    ("sthv2", {"labels.json": SSV2_LABELS, "validation.json": "[]",
               "train.json": json.dumps([SSV2_ENTRY, {k: v for k, v in SSV2_ENTRY.items() if k != "template"}])},
     "train.json, entry 2", "no 'template'"),
    ("kinetics400", {"k400_train.csv": KINETICS_TRAIN + "abseiling,fff\n", "k400_val.csv": KINETICS_VAL},
     "k400_train.csv:5", "too few fields"),
    ("kinetics400", {"k400_train.csv": KINETICS_TRAIN, "k400_val.csv": KINETICS_VAL + "abseiling,ggg,start,9,val\n"},
     "k400_val.csv:4", "time_start 'start'"),
    ("ucf101", {"classInd.txt": "1 ApplyEyeMakeup\n2YoYo\n", **UCF_LISTS}, "classInd.txt:2", "'2YoYo'"),
    ("ucf101", {"classInd.txt": "1 ApplyEyeMakeup\nYoYo 2\n", **UCF_LISTS}, "classInd.txt:2", "'YoYo 2'"),
    ("ucf101", {"classInd.txt": "1 YoYo\n", **UCF_LISTS, "testlist01.txt": "\nJuggling/v_Juggling_g01_c01.avi\n"},
     "testlist01.txt:2", "in no class of classInd.txt"),
])
def test_malformed_annotations_name_the_file_and_line(tmp_path, capsys, dataset, files, where, says):
    ann = tmp_path / "ann"
    ann.mkdir()
    for name, text in files.items():
        (ann / name).write_text(text)
    main = load_script("build_lists").main
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", dataset, "--annotations", str(ann), "--frames", str(_frames_root(tmp_path, {})),
              "--out", str(tmp_path / "lists")])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith(f"build_lists.py: error: {ann / where}: ") and says in error
    assert "official" in error  # says what to fix
    assert not (tmp_path / "lists").exists()


def test_build_lists_fails_when_a_split_has_no_frames_at_all(tmp_path, capsys):
    """Every video of a split missing means a wrong --frames folder, not the few lost downloads of Kinetics."""
    ann = _ucf101_annotations(tmp_path, "1 Archery\n",
                              "Archery/v_Archery_g01_c01.avi 1\nArchery/v_Archery_g02_c01.avi 1\n",
                              "Archery/v_Archery_g03_c01.avi\n")
    frames = _frames_root(tmp_path, {"v_Archery_g01_c01": 4})
    main = load_script("build_lists").main
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", "ucf101", "--annotations", str(ann), "--frames", str(frames), "--out", str(tmp_path / "l")])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1
    assert error.startswith("build_lists.py: error: none of the 1 annotated val videos")
    for part in (str(ann), str(frames), "--frames", "v_Archery_g03_c01"):
        assert part in error
    assert not (tmp_path / "l").exists()
