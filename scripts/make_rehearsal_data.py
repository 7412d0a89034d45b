#!/usr/bin/env python
"""Write tiny copies of the paper's six datasets in their real download formats, and ImageNet weight files of
the expected names (random weights), under OUT, laid out as config/paper.yaml's sources: and imagenet_weights:
lay them out under data/: a CPU dress rehearsal of the paper configuration without a download. Real class
counts, a few videos each, and in each dataset a missing, a broken and a short video (ctnet/data/rehearsal.py).
A re-run with the same arguments writes nothing new."""
import argparse
import sys

from ctnet.data.rehearsal import Sizes, make_rehearsal

DEFAULTS = Sizes()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="root folder (paper.yaml's data/)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=DEFAULTS.train,
                        help="training videos of SSv1, SSv2 and Kinetics-400 (the broken one included)")
    parser.add_argument("--val", type=int, default=DEFAULTS.val,
                        help="validation videos of the same (the missing and the short one included)")
    parser.add_argument("--pool", type=int, default=DEFAULTS.pool,
                        help="UCF101 and HMDB51 videos, shared by their three splits")
    parser.add_argument("--small", action="store_true",
                        help="a quarter of the real frame sizes and video lengths (for tests)")
    parser.add_argument("--no-weights", dest="weights", action="store_false",
                        help="skip the ImageNet weight files (about 370 MB)")
    args = parser.parse_args(argv)
    try:
        summary = make_rehearsal(args.out, args.seed, Sizes(args.train, args.val, args.pool, args.small),
                                 args.weights)
    except ValueError as exc:
        parser.exit(2, f"make_rehearsal_data.py: error: {exc}\n")
    for ds in summary["datasets"]:
        print(f"{ds.name}: {len(ds.train)} train, {len(ds.val)} val; missing {ds.missing}, broken {ds.broken}, "
              f"short {ds.short}; {ds.on_disk} on disk, {ds.broken_fraction:.1%} broken")
    print(f"{summary['written']} files written, {summary['kept']} already there -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
