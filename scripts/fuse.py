#!/usr/bin/env python
"""Score fusion: scripts/fuse.py --scores A.npz B.npz ... [--weights 1 1 ...] --out F.npz.

Averages the scores of models tested on the same videos (the paper's ensembles, e.g. CT-Net EN) after checking
that video ids, labels and classes agree; writes F.npz and F.json in the scores-file format.
"""

import argparse
import sys

from ctnet.engine import fuse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--scores", nargs="+", required=True, help="scores files written by scripts/test.py")
    parser.add_argument("--weights", nargs="+", type=float, default=None, help="one weight per file (default equal)")
    parser.add_argument("--average", choices=("scores", "softmax"), default="scores",
                        help="average the files' scores as saved, or their softmax probabilities")
    parser.add_argument("--out", required=True, help="fused scores file to write (.npz; its .json goes beside it)")
    args = parser.parse_args(argv)
    try:
        fuse(args.scores, args.out, weights=args.weights, average=args.average)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
