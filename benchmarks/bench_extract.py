#!/usr/bin/env python
"""Frame-extraction throughput: ctnet.data's extractor vs the ffmpeg command line doing the same decode +
short-side-256 scaling + JPEG writing, on the same files, one video at a time each, side by side in one run.
Test videos (made here with PyAV): H.264 mp4 and VP9 webm at 640x360, as in Kinetics and Something-Something.
Needs the ffmpeg CLI (apt-get install -y ffmpeg). Prints frames/s of both, the ratio, and mean JPEG sizes (the
ffmpeg quality is its best, whose files are still a little smaller than ours).

    .venv/bin/python benchmarks/bench_extract.py [--videos 4] [--frames 150] [--ffmpeg-q 2] [--repeats 2]
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ctnet.data.extract import extract_video
from ctnet.data.synthetic import render_forward
from ctnet.data.video import encode_video


def make_videos(folder: Path, count: int, num_frames: int) -> list[Path]:
    """Smooth moving scenes, rendered small and upscaled, with mild noise so that the codecs have work to do."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        small, _ = render_forward(["horizontal", "rotation", "zoom"][i % 3], rng, 90, num_frames)
        frames = small.repeat(4, axis=1).repeat(4, axis=2)  # (F, 360, 360, 3)
        frames = np.concatenate([frames, frames[:, :, :280]], axis=2)  # (F, 360, 640, 3)
        noise = rng.integers(-8, 9, frames.shape[1:], dtype=np.int16)
        frames = np.clip(frames.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        path = folder / f"video{i}{'.mp4' if i % 2 == 0 else '.webm'}"
        encode_video(path, frames, fps=25)
        paths.append(path)
    return paths


def run_ffmpeg(path: Path, out: Path, q: int) -> None:
    out.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(path), "-vf", "scale=-2:256", "-q:v", str(q),
                    str(out / "img_%05d.jpg")], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--ffmpeg-q", type=int, default=2,
                        help="ffmpeg -q:v; 2, its best, still writes smaller files than PIL at quality 90")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds; the best round counts")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("bench_extract.py: the ffmpeg command line is needed for the baseline; apt-get install -y ffmpeg")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "videos").mkdir()
        videos = make_videos(root / "videos", args.videos, args.frames)
        best = {"ctnet.data": 0.0, "ffmpeg": 0.0}
        sizes = {}
        for round_ in range(args.repeats):
            # Alternate the order so that neither side always runs on a warmer cache.
            order = ["ctnet.data", "ffmpeg"] if round_ % 2 == 0 else ["ffmpeg", "ctnet.data"]
            for name in order:
                out = root / f"{name}-{round_}"
                start = time.perf_counter()
                for video in videos:
                    if name == "ffmpeg":
                        run_ffmpeg(video, out / video.stem, args.ffmpeg_q)
                    else:
                        outcome = extract_video(video, out, short_side=256)
                        assert not outcome.reason, outcome.reason
                elapsed = time.perf_counter() - start
                files = list(out.rglob("*.jpg"))
                best[name] = max(best[name], len(files) / elapsed)
                sizes[name] = (len(files), np.mean([f.stat().st_size for f in files]) / 1024)
    print(f"{args.videos} videos (mp4/H.264 and webm/VP9, 640x360, {args.frames} frames) -> short side 256 JPEGs")
    for name, fps in best.items():
        print(f"{name:11s} {fps:7.1f} frames/s   {sizes[name][0]} frames, mean JPEG {sizes[name][1]:.1f} KiB")
    print(f"ratio ctnet.data / ffmpeg: {best['ctnet.data'] / best['ffmpeg']:.2f}")


if __name__ == "__main__":
    main()
