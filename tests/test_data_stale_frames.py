"""Frame folders made from other inputs are never reused, and a disk that cannot take the frames stops the job
without losing a video: the smoke configuration then the default one wrote their videos, with the same ids, into
the same folder, and the default run kept the smoke run's frames; a full disk recorded videos as broken."""

import csv
import errno
import json

import pytest
from PIL import Image

import ctnet.data.extract as extract_module
from ctnet import paths
from ctnet.data.extract import extract_videos
from ctnet.data.synthetic import make_synthetic
from helpers import load_script

VIDEOS = 4  # the fewest make_synthetic writes (two classes)


def _make(raw, size, frames, seed=0):
    make_synthetic(raw, num_videos=VIDEOS, seed=seed, size=size, num_frames=frames, num_classes=2, progress=False)
    return raw / "videos"


def _folders(out):
    """video id -> (frame count, size of the first frame) of every frame folder, temporary ones included."""
    result = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        frames = sorted(folder.glob("img_*.jpg"))
        with Image.open(frames[0]) as image:
            result[folder.name] = (len(frames), image.size)
    return result


def test_frames_of_other_videos_and_settings_are_extracted_again(tmp_path, capsys):
    main = load_script("extract_frames").main
    out = tmp_path / "frames"
    videos = _make(tmp_path / "raw", size=16, frames=4)
    assert main(["--videos", str(videos), "--out", str(out), "--short-side", "0"]) == 0
    assert set(_folders(out).values()) == {(4, (16, 16))}
    capsys.readouterr()
    # Another set with the same ids (another size, length and seed) into the same videos folder.
    videos = _make(tmp_path / "raw", size=24, frames=6, seed=1)
    assert main(["--videos", str(videos), "--out", str(out), "--short-side", "0"]) == 0
    assert _folders(out) == {str(i): (6, (24, 24)) for i in range(1, VIDEOS + 1)}
    log = capsys.readouterr().out
    assert f"{VIDEOS} videos extracted (0 of them reused" in log
    assert f"{VIDEOS} frame folders re-extracted: video changed" in log
    with open(out / "manifest.csv", newline="") as f:
        assert {row["video_id"]: int(row["num_frames"]) for row in csv.DictReader(f)} == \
            {str(i): 6 for i in range(1, VIDEOS + 1)}
    # Another short side: the rule reruns, and so must every folder.
    assert main(["--videos", str(videos), "--out", str(out), "--short-side", "12"]) == 0
    assert set(_folders(out).values()) == {(6, (12, 12))}
    assert f"{VIDEOS} frame folders re-extracted: other settings (short_side 0 -> 12)" in capsys.readouterr().out
    stamp = json.loads((out / "1" / paths.FRAMES_STAMP_NAME).read_text())
    assert stamp["short_side"] == 12 and stamp["size"] == (videos / "1.webm").stat().st_size


def test_unchanged_rerun_reuses_and_a_folder_without_stamp_is_extracted_again(tmp_path, monkeypatch):
    videos = _make(tmp_path / "raw", size=16, frames=4)
    out = tmp_path / "frames"
    extract_videos(videos, out, short_side=0, progress=False)

    def no_decoding(path, short_side):
        raise AssertionError(f"{path} decoded again")
    monkeypatch.setattr(extract_module, "decode_frames", no_decoding)
    outcomes = extract_videos(videos, out, short_side=0, progress=False)
    assert all(o.reused and o.num_frames == 4 and not o.reason for o in outcomes)
    monkeypatch.undo()
    (out / "2" / paths.FRAMES_STAMP_NAME).unlink()  # a folder of the code before stamps
    outcomes = extract_videos(videos, out, short_side=0, progress=False)
    assert [(o.video_id, o.num_frames, o.reused, o.stale) for o in outcomes] == \
        [("1", 4, True, ""), ("2", 4, False, "no stamp (made by older code)"), ("3", 4, True, ""), ("4", 4, True, "")]
    assert (out / "2" / paths.FRAMES_STAMP_NAME).is_file()
    assert sorted(p.name for p in out.iterdir()) == ["1", "2", "3", "4", "failures.csv", "manifest.csv"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_disk_stops_the_job_and_loses_no_video(tmp_path, monkeypatch, capsys, workers):
    main = load_script("extract_frames").main
    videos = _make(tmp_path / "raw", size=16, frames=4)
    out = tmp_path / "frames"
    args = ["--videos", str(videos), "--out", str(out), "--short-side", "0", "--workers", str(workers)]
    assert main(args) == 0
    # The disk fills up while video 3 is extracted again (its video changed); the patch reaches forked workers.
    videos.joinpath("3.webm").write_bytes(videos.joinpath("1.webm").read_bytes())
    save = Image.Image.save

    def full_disk(image, fp, *args, **kwargs):
        if fp.parent.name == ".tmp_3":
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(image, fp, *args, **kwargs)
    monkeypatch.setattr(Image.Image, "save", full_disk)
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err  # the progress bar, then one line
    assert err.endswith(f"\nextract_frames.py: error: {out / '3'}: cannot write frames: No space left on device; "
                        "free space (or point the source's frames: at a larger disk) and rerun\n")
    assert "Traceback" not in err
    # Nothing claims success or failure for the shard; no partial folder is left, and no stale one either.
    assert not (out / "manifest.csv").exists() and not (out / "failures.csv").exists()
    assert sorted(p.name for p in out.iterdir()) == ["1", "2", "4"]
    monkeypatch.undo()
    assert main(args) == 0
    assert _folders(out) == {str(i): (4, (16, 16)) for i in range(1, VIDEOS + 1)}
    with open(out / "failures.csv", newline="") as f:
        assert list(csv.DictReader(f)) == []
    assert f"{VIDEOS} videos extracted ({VIDEOS - 1} of them reused" in capsys.readouterr().out


def test_manifests_of_another_shard_count_are_removed(tmp_path):
    """build_lists reads every manifest of the frames folder: after the shard count changes (paper.yaml's 200
    shards, then a rehearsal's 1), the old run's manifests must not describe the videos a second time."""
    from ctnet.data.annotations import index_frames

    out = tmp_path / "frames"
    videos = _make(tmp_path / "raw", size=16, frames=4)
    for index in range(2):
        extract_videos(videos, out, short_side=0, shard=(index, 2), progress=False)
    assert len(list(out.glob("manifest*.csv"))) == 2
    (out / "manifest.shard-0-of-2.csv").write_text("video_id,num_frames\nghost,99\n")
    extract_videos(videos, out, short_side=0, shard=(0, 1), progress=False)
    assert sorted(p.name for p in out.glob("*.csv")) == ["failures.csv", "manifest.csv"]
    assert set(index_frames(out)) == {str(i) for i in range(1, VIDEOS + 1)}
