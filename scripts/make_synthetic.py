#!/usr/bin/env python
"""Generate the synthetic temporal dataset: OUT/videos/<id>.{webm,mp4} and OUT/annotations/ in the
Something-Something V2 format (labels.json, train.json, validation.json). Classes come in pairs that differ
only in the direction of motion (see docs/data.md)."""
import argparse
import sys

from ctnet.data.synthetic import MAX_CLASSES, VAL_FRACTION, make_synthetic


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--num-videos", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64, help="frame side in pixels (even)")
    parser.add_argument("--frames", type=int, default=32, help="frames per video")
    parser.add_argument("--num-classes", type=int, default=10, help=f"even, 2 to {MAX_CLASSES}")
    parser.add_argument("--val-fraction", type=float, default=VAL_FRACTION)
    args = parser.parse_args(argv)
    try:
        summary = make_synthetic(args.out, args.num_videos, args.seed, args.size, args.frames, args.num_classes,
                                 args.val_fraction)
    except ValueError as exc:
        parser.exit(2, f"make_synthetic.py: error: {exc}\n")
    print(f"{summary['videos']} videos ({summary['train']} train, {summary['val']} val, {summary['classes']} "
          f"classes) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
