import csv
import os
import random
import shutil

import av
import numpy as np
import pytest
from PIL import Image

from ctnet import paths
from ctnet.data.extract import extract_video, extract_videos, failures_exceed, list_videos, parse_shard
from ctnet.data.frames import count_frames, read_manifests
from ctnet.data.video import VideoDecodeError, decode_frames, encode_video, scaled_size
from helpers import load_script


def _frames(n=10, h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """One video per container the datasets use, and the broken files the extractor must survive."""
    folder = tmp_path_factory.mktemp("videos")
    encode_video(folder / "kin_000001_000011.mp4", _frames(12))
    encode_video(folder / "ssv2_7.webm", _frames(9, 64, 48))
    (folder / "hmdb").mkdir()
    encode_video(folder / "hmdb" / "brush_hair_1.avi", _frames(7))
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "garbage.webm").write_bytes(random.Random(0).randbytes(4000))
    # A truncated file whose index sits at the front (faststart), so that it opens and then ends early.
    with av.open(str(folder / "full.mp4"), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "1"}  # intra-only, so every frame left is decodable
        for image in _frames(60, seed=1):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = (folder / "full.mp4").read_bytes()
    (folder / "full.mp4").unlink()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    return folder


def test_scaled_size_keeps_aspect():
    assert scaled_size(340, 256, 256) == (340, 256)
    assert scaled_size(640, 480, 256) == (341, 256)
    assert scaled_size(480, 640, 128) == (128, 171)
    assert scaled_size(100, 50, 0) == (100, 50)


def test_decode_each_container(videos):
    for name, count, size in (("kin_000001_000011.mp4", 12, (85, 64)), ("ssv2_7.webm", 9, (64, 85)),
                              ("hmdb/brush_hair_1.avi", 7, (85, 64))):
        frames = list(decode_frames(videos / name, short_side=64))
        assert len(frames) == count
        assert (frames[0].width, frames[0].height) == size


def test_extract_writes_tsm_layout_manifest_and_failures(videos, tmp_path):
    out = tmp_path / "frames"
    outcomes = extract_videos(videos, out, short_side=32, progress=False)
    assert {o.video_id: o.num_frames for o in outcomes if not o.reason} == \
        {"kin_000001_000011": 12, "ssv2_7": 9, "brush_hair_1": 7}
    # The frames and the stamp of what made them
    assert sorted(os.listdir(out / "ssv2_7")) == [paths.FRAMES_STAMP_NAME] + [f"img_{i:05d}.jpg" for i in range(1, 10)]
    assert count_frames(out / "ssv2_7") == 9
    assert Image.open(out / "kin_000001_000011" / "img_00012.jpg").size == (43, 32)
    assert read_manifests(out) == {"kin_000001_000011": 12, "ssv2_7": 9, "brush_hair_1": 7}
    with open(out / "failures.csv", newline="") as f:
        reasons = {row["video_id"]: row["reason"] for row in csv.DictReader(f)}
    assert set(reasons) == {"empty", "garbage", "truncated"}
    assert reasons["empty"] == "empty file"
    assert reasons["truncated"].startswith("truncated: decoded") and reasons["truncated"].endswith("of 60 frames")
    # Failed videos leave no folder, temporary or final
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["brush_hair_1", "kin_000001_000011", "ssv2_7"]


def test_rerun_skips_finished_videos(videos, tmp_path):
    out = tmp_path / "frames"
    extract_videos(videos, out, short_side=32, progress=False)
    marker = out / "ssv2_7" / "img_00001.jpg"
    before = marker.stat().st_mtime_ns
    (out / ".tmp_brush_hair_1").mkdir()  # a leftover from a killed run
    (out / ".tmp_brush_hair_1" / "img_00001.jpg").write_bytes(b"partial")
    # A finished folder counts as done; the stale temporary folder of an unfinished one is replaced.
    shutil.rmtree(out / "brush_hair_1")
    outcomes = extract_videos(videos, out, short_side=32, workers=2, progress=False)
    assert marker.stat().st_mtime_ns == before
    assert {o.video_id: o.num_frames for o in outcomes}["brush_hair_1"] == 7
    assert not (out / ".tmp_brush_hair_1").exists()


def test_shards_partition_the_videos(videos, tmp_path):
    ids = []
    for i in range(3):
        outcomes = extract_videos(videos, tmp_path, short_side=32, shard=(i, 3), progress=False)
        ids += [o.video_id for o in outcomes]
        assert (tmp_path / f"manifest.shard-{i}-of-3.csv").is_file()
    assert sorted(ids) == sorted(p.stem for p in list_videos(videos))
    assert len(read_manifests(tmp_path)) == 3


def test_list_file_and_bad_arguments(videos, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"{videos / 'ssv2_7.webm'}\n\n{videos / 'hmdb' / 'brush_hair_1.avi'}\n")
    assert [p.stem for p in list_videos(listing)] == ["brush_hair_1", "ssv2_7"]
    duplicate = tmp_path / "dup.txt"
    duplicate.write_text(f"{videos / 'ssv2_7.webm'}\n{videos / 'ssv2_7.webm'}\n")
    with pytest.raises(ValueError, match="share the id 'ssv2_7'"):
        list_videos(duplicate)
    with pytest.raises(FileNotFoundError, match="no such folder or list file"):
        list_videos(tmp_path / "nothing")
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "x", "1/2/3"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_command_line_exit_status(videos, tmp_path, capsys):
    main = load_script("extract_frames").main
    good = tmp_path / "good.txt"
    good.write_text(f"{videos / 'ssv2_7.webm'}\n")
    assert main(["--videos", str(good), "--out", str(tmp_path / "a"), "--short-side", "32"]) == 0
    assert "1 videos extracted" in capsys.readouterr().out
    assert main(["--videos", str(videos), "--out", str(tmp_path / "b"), "--short-side", "32", "--shard", "0/1",
                 "--workers", "2"]) == 1
    assert "3 failed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["--videos", str(videos), "--out", str(tmp_path / "c"), "--shard", "3/2"])
    assert exit_info.value.code == 2 and "I must be in 0..N-1" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_lossless_encoding_decodes_to_the_exact_yuv_pixels(tmp_path, suffix):
    """The synthetic dataset's videos: the same seed must give the same decoded pixels on every run, which a
    lossy x264 encode does not guarantee."""
    frames = _frames(6)
    encode_video(tmp_path / f"v{suffix}", frames, lossless=True)
    with av.open(str(tmp_path / f"v{suffix}")) as container:
        decoded = [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]
    expected = [av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p").to_ndarray()
                for image in frames]
    assert len(decoded) == len(expected)
    for got, want in zip(decoded, expected):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="cannot encode .*x.avi losslessly"):
        encode_video(tmp_path / "x.avi", frames, lossless=True)


def test_failure_threshold_is_a_fraction_of_the_shard():
    assert not failures_exceed(0, 0, 0.05)  # a shard with no videos (fewer videos than shards)
    assert not failures_exceed(1, 20, 0.05)
    assert failures_exceed(2, 20, 0.05)
    assert failures_exceed(1, 1000, 0) and not failures_exceed(0, 1000, 0)
    assert not failures_exceed(10, 10, 1)


def test_command_line_tolerates_a_few_broken_videos(videos, tmp_path, capsys):
    main = load_script("extract_frames").main
    args = ["--videos", str(videos), "--out", str(tmp_path), "--short-side", "32"]
    assert main(args + ["--max-failed-fraction", "0.5"]) == 0  # 3 of 6
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("extract_frames.py: ")]
    assert len(warnings) == 3 and all(w.startswith("extract_frames.py: warning: ") for w in warnings)
    assert any(str(videos / "empty.mp4") in w and w.endswith(": empty file") for w in warnings)
    assert main(args) == 1  # the default, 0.05
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("extract_frames.py: error: 3 of 6 videos failed (50.0%)")
    for part in ("0.05", str(tmp_path / "failures.csv"), "max_failed_fraction"):
        assert part in error
    with pytest.raises(SystemExit) as exit_info:
        main(args + ["--max-failed-fraction", "1.5"])
    assert exit_info.value.code == 2 and "--max-failed-fraction must be in 0..1" in capsys.readouterr().err


def test_empty_listing_is_an_error_but_an_empty_shard_is_not(videos, tmp_path, capsys):
    main = load_script("extract_frames").main
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "notes.txt").write_text("no videos here\n")
    (tmp_path / "empty.txt").write_text("\n")
    for source, says in ((tmp_path / "none", "no videos found (looked for .3gp, "),
                         (tmp_path / "empty.txt", "the list file names no videos")):
        with pytest.raises(SystemExit) as exit_info:
            main(["--videos", str(source), "--out", str(tmp_path / "out")])
        error = capsys.readouterr().err
        assert exit_info.value.code == 2 and error.count("\n") == 1
        assert error.startswith(f"extract_frames.py: error: --videos {source}: {says}")
    one = tmp_path / "one.txt"
    one.write_text(f"{videos / 'ssv2_7.webm'}\n")
    assert main(["--videos", str(one), "--out", str(tmp_path / "out"), "--shard", "1/2"]) == 0
    assert "0 videos extracted" in capsys.readouterr().out


def _cut(path, fraction=0.55):
    """A copy of ``path`` that keeps only its first ``fraction`` of bytes, as an interrupted download does."""
    data = path.read_bytes()
    cut = path.with_name(f"cut_{path.name}")
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


def test_truncated_webm_is_reported(tmp_path):
    """WebM has no frame count in its header, so a cut file used to decode to fewer frames without an error."""
    encode_video(tmp_path / "v.webm", _frames(16))
    cut = _cut(tmp_path / "v.webm")
    with pytest.raises(VideoDecodeError, match=r"^truncated: decoded 0\.\d+ s of 1\.33 s$"):
        list(decode_frames(cut, short_side=0))
    outcome = extract_video(cut, tmp_path / "frames", short_side=0)
    assert outcome.num_frames == 0 and outcome.reason.startswith("truncated: decoded")
    assert not (tmp_path / "frames" / "cut_v").exists()


def _encode_with_audio(path, frames, audio_seconds):
    """A WebM whose Opus audio (silence) outlasts its video, as downloads from video sites often do."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libvpx-vp9", rate=12)
        video.width, video.height, video.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        audio = container.add_stream("libopus", rate=48000)
        for image in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        for pts in range(0, int(audio_seconds * 48000), 960):
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.float32), format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = 48000, pts
            for packet in audio.encode(chunk):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)


def test_webm_truncation_uses_the_video_track_duration(tmp_path):
    """The container's duration is the longest track's: a 3 s soundtrack over 1.33 s of video is not a cut video."""
    _encode_with_audio(tmp_path / "a.webm", _frames(16), audio_seconds=3)
    assert len(list(decode_frames(tmp_path / "a.webm", short_side=0))) == 16
    with pytest.raises(VideoDecodeError, match=r"of 1\.33 s$"):
        list(decode_frames(_cut(tmp_path / "a.webm"), short_side=0))


@pytest.mark.parametrize("suffix,lossless", [(".mp4", False), (".mp4", True), (".webm", False), (".webm", True),
                                             (".avi", False)])
def test_complete_videos_are_not_reported_truncated(tmp_path, suffix, lossless):
    # Random frames: lossless VP9 fails to encode more than about 20 of them (libvpx: "Compressed data buffer too
    # small"), so the counts stay below that.
    for count in (1, 2, 7, 16):
        encode_video(tmp_path / f"v{count}{suffix}", _frames(count, seed=count), fps=12, lossless=lossless)
        assert len(list(decode_frames(tmp_path / f"v{count}{suffix}", short_side=0))) == count
