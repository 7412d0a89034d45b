"""Video files through PyAV: decoding to resized RGB frames, and encoding (for the synthetic dataset and tests)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import av
import numpy as np

# Container suffix -> (encoder, options). VP9 in realtime mode and x264 "veryfast" keep encoding of small
# clips far cheaper than their decoding-side cost, which is what the synthetic dataset exercises.
ENCODERS = {
    ".mp4": ("libx264", {"preset": "veryfast", "crf": "18"}),
    ".webm": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"}),
    ".avi": ("mpeg4", {"qscale": "3"}),
}
# Lossless settings for data that must decode to the same pixels on every run. x264 does not always make the same
# decisions for the same frames (measured with PyAV: about 1 encode in 8 of one 48 px clip differed under
# concurrent load, with one thread or several), so a lossy seeded dataset differs from run to run, and so does
# every training on it.
LOSSLESS = {".mp4": {"qp": "0"}, ".webm": {"lossless": "1"}}


class VideoDecodeError(RuntimeError):
    """A file that is not a decodable video: its message is the reason written to the failures CSV."""


def scaled_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """``(width, height)`` with the shorter side ``short_side``, aspect kept; ``short_side=0`` keeps the size."""
    if short_side <= 0:
        return width, height
    if width <= height:
        return short_side, max(short_side, round(height * short_side / width))
    return max(short_side, round(width * short_side / height)), short_side


def decode_frames(path: str | Path, short_side: int) -> Iterator[av.VideoFrame]:
    """Yield the frames of ``path``'s first video stream as RGB ``av.VideoFrame`` s, scaled by libswscale so
    that the short side is ``short_side`` (0 = unscaled). Raises ``VideoDecodeError`` with a one-line reason for
    empty, unreadable, truncated or stream-less files."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise VideoDecodeError("empty file")
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise VideoDecodeError(f"cannot open: {exc}") from None
    with container:
        if not container.streams.video:
            raise VideoDecodeError("no video stream")
        stream = container.streams.video[0]
        # Frame-level threads decode several frames at once; slice threads help large H.264 frames.
        stream.thread_type = "AUTO"
        expected = stream.frames
        count, last_pts = 0, None
        try:
            size = None
            for frame in container.decode(stream):
                if size is None:
                    size = scaled_size(frame.width, frame.height, short_side)
                count += 1
                last_pts = frame.pts
                yield frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="BILINEAR")
        except av.FFmpegError as exc:
            raise VideoDecodeError(f"decoding stopped after {count} frames: {exc}") from None
        if count == 0:
            raise VideoDecodeError("no decodable frames")
        # A truncated file often decodes without an error but ends early; the header's frame count (when the
        # container has one, as mp4 does) tells. A few frames of slack cover edit lists and B-frame leftovers.
        if expected and count < expected - max(2, expected // 50):
            raise VideoDecodeError(f"truncated: decoded {count} of {expected} frames")
        # WebM/Matroska has no frame count, but its header states the duration, which the end of the last decoded
        # frame falls short of in a cut file. Slack: two frame periods (a variable frame rate) or 2 %.
        total = None if expected or last_pts is None else _stated_duration(container, stream)
        if total:
            period = float(1 / stream.average_rate) if stream.average_rate else 0.0
            end = float(last_pts * stream.time_base) + period
            if end < total - max(2 * period, total / 50):
                raise VideoDecodeError(f"truncated: decoded {end:.2f} s of {total:.2f} s")


def _stated_duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    """The video stream's duration in seconds as the file's header states it (None when it does not), for files
    without a frame count. Measured with PyAV 18 on WebM cut at 30-95 % of its bytes: the Segment duration
    (``container.duration``) and ffmpeg's per-track ``DURATION`` tag are written back at the front of the file
    when the muxer finishes, so a cut file still states the full length; a file muxed without seeking (a live
    stream) states neither, and then nothing can be checked. The track's tag comes first because the Segment
    duration is the longest track's, and a soundtrack often outlasts the video."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    hours, _, rest = stream.metadata.get("DURATION", "").partition(":")
    minutes, _, seconds = rest.partition(":")
    try:
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:  # no tag (a muxer other than ffmpeg's) or an unexpected form: fall back to the Segment's
        return container.duration / av.time_base if container.duration else None


def encode_video(path: str | Path, frames: np.ndarray, fps: int = 12, lossless: bool = False) -> None:
    """Write uint8 RGB frames ``(F, H, W, 3)`` (even ``H`` and ``W``) to ``path``; the codec follows the
    suffix (.mp4 H.264, .webm VP9, .avi MPEG-4 Part 2). ``lossless``: exact YUV 4:2:0 (.mp4 and .webm only)."""
    path = Path(path)
    if path.suffix not in ENCODERS:
        raise ValueError(f"cannot encode {path}: the suffix must be one of {sorted(ENCODERS)}")
    codec, options = ENCODERS[path.suffix]
    if lossless:
        if path.suffix not in LOSSLESS:
            raise ValueError(f"cannot encode {path} losslessly: use one of {sorted(LOSSLESS)}")
        options = {key: value for key, value in options.items() if key != "crf"} | LOSSLESS[path.suffix]
    _, height, width, _ = frames.shape
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = dict(options)
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():  # flush the encoder's delayed frames
            container.mux(packet)
