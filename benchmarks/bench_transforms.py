#!/usr/bin/env python
"""Training-transform throughput: ctnet.data (whole-clip uint8 tensor ops) vs a PIL pipeline in the style of TSM's
GroupMultiScaleCrop (one PIL crop/resize/flip per frame, then ToTensor and Normalize), side by side in one run,
one thread each. Clips: 8 frames of 256x340 JPEGs -> 224x224. Prints clips/s per core and the ratio, for the
transforms alone and with JPEG decoding included.

    .venv/bin/python benchmarks/bench_transforms.py [--clips 100] [--rounds 3]
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ctnet.data.dataset import VideoFrameDataset
from ctnet.data.synthetic import render_forward
from ctnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD, TrainTransform

SCALES = (1.0, 0.875, 0.75, 0.66)
FIXED = ((0, 0), (0, 4), (4, 0), (4, 4), (2, 2), (2, 0), (2, 4), (4, 2), (0, 2), (1, 1), (1, 3), (3, 1), (3, 3))


class PilBaseline:
    """The per-frame PIL pipeline of TSM-style code: same crop boxes, PIL bilinear resize, per-frame flip,
    ToTensor-like conversion and normalisation of each frame."""

    def __init__(self, size):
        self.size = size
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def __call__(self, images, rng):
        width, height = images[0].size
        base = min(width, height)
        sides = [self.size if abs(int(base * s) - self.size) < 3 else int(base * s) for s in SCALES]
        pairs = [(a, b) for i, a in enumerate(sides) for j, b in enumerate(sides) if abs(i - j) <= 1]
        crop_h, crop_w = pairs[int(rng.integers(len(pairs)))]
        row, col = FIXED[int(rng.integers(len(FIXED)))]
        top, left = row * ((height - crop_h) // 4), col * ((width - crop_w) // 4)
        out = [im.crop((left, top, left + crop_w, top + crop_h)).resize((self.size, self.size), Image.BILINEAR)
               for im in images]
        if rng.random() < 0.5:
            out = [im.transpose(Image.FLIP_LEFT_RIGHT) for im in out]
        tensors = [(torch.from_numpy(np.array(im)).permute(2, 0, 1).float().div(255) - self.mean) / self.std
                   for im in out]
        return torch.stack(tensors, dim=1)  # (3, T, H, W)


def write_frames(folder: Path, num_frames: int) -> None:
    """Natural-ish content: a synthetic scene rendered at 64 px, upscaled to 256x340 and lightly textured."""
    rng = np.random.default_rng(0)
    frames, _ = render_forward("horizontal", rng, 64, num_frames)
    (folder / "v").mkdir(parents=True)
    for i, frame in enumerate(frames, 1):
        image = np.asarray(Image.fromarray(frame).resize((340, 256), Image.BILINEAR), dtype=np.int16)
        image = np.clip(image + rng.integers(-6, 7, image.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(folder / "v" / f"img_{i:05d}.jpg", quality=90)


def rate(fn, clips):
    start = time.perf_counter()
    for i in range(clips):
        fn(i)
    return clips / (time.perf_counter() - start)


def side_by_side(ours, baseline, clips, rounds):
    """Best clips/s of each over ``rounds`` alternating rounds, so that load from other jobs hits both alike."""
    ours(0), baseline(0)  # warm-up
    best = [0.0, 0.0]
    for _ in range(rounds):
        best = [max(best[0], rate(ours, clips)), max(best[1], rate(baseline, clips))]
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best round counts")
    args = parser.parse_args()
    torch.set_num_threads(1)  # per core: DataLoader workers run one thread each
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_frames(root, args.frames)
        (root / "list.txt").write_text(f"v {args.frames} 0\n")
        dataset = VideoFrameDataset(root, root / "list.txt", ["c"], "img_{:05d}.jpg", args.frames, "sparse", 1,
                                    TrainTransform(224, SCALES, True, None))
        entry, indices = dataset.entries[0], np.arange(args.frames)
        ours, baseline = dataset.train_transform, PilBaseline(224)
        paths = [root / "v" / f"img_{i + 1:05d}.jpg" for i in indices]
        frames = dataset.load_frames(entry, indices)
        images = [Image.open(p).convert("RGB") for p in paths]
        rng = np.random.default_rng(0)

        results = {
            "transforms only": side_by_side(lambda i: ours(frames, 0, rng), lambda i: baseline(images, rng),
                                            args.clips, args.rounds),
            "decode + transforms": side_by_side(
                lambda i: ours(dataset.load_frames(entry, indices), 0, rng),
                lambda i: baseline([Image.open(p).convert("RGB") for p in paths], rng), args.clips, args.rounds),
        }
    print(f"{args.frames}-frame 256x340 clips -> 224x224, one thread, best of {args.rounds} x {args.clips} clips")
    for name, (a, b) in results.items():
        print(f"{name:20s} ctnet.data {a:7.1f} clips/s   PIL baseline {b:7.1f} clips/s   ratio {a / b:.2f}x")


if __name__ == "__main__":
    main()
