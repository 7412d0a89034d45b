#!/usr/bin/env python
"""Multi-view test: scripts/test.py --experiment E.yaml --checkpoint final.pt --protocol NAME --out S.npz.

Writes the scores file S.npz (video_ids, labels, scores, class_names) and S.json (top1, top5, mean_class_acc).
"""

import argparse
import sys

from ctnet.engine import test
from ctnet.process import exit_without_teardown


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--experiment", required=True, help="resolved experiment YAML (docs/experiment.md)")
    parser.add_argument("--checkpoint", required=True, help="final.pt (or a checkpoint's last.pt) of this experiment")
    parser.add_argument("--protocol", required=True, help="a name under the experiment's protocols:")
    parser.add_argument("--out", required=True, help="scores file to write (.npz; its .json goes beside it)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = parser.parse_args(argv)
    try:
        test(args.experiment, args.checkpoint, args.protocol, args.out, device=args.device)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    exit_without_teardown(main())
