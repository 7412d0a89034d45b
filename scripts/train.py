#!/usr/bin/env python
"""Train one resolved experiment: scripts/train.py --experiment E.yaml --out DIR [--ckpt-dir C] [--gpus N].

With --gpus N > 1 (and not already under torchrun) the command re-executes itself as N processes on this node
through torchrun. Exit status: 0 done, 2 bad input or a checkpoint that could not be written (a full disk), 3
non-finite loss, 128 + signal number after SIGTERM (143) or SIGUSR1 (138) once the checkpoint is saved. Errors are
one line on stderr, also appended to DIR/train.log, which keeps every attempt's log.
"""

import argparse
import os
import sys

from ctnet.engine import NonFiniteLossError, TrainingInterrupted, train
from ctnet.engine.distributed import launched_by_torchrun, torchrun_command
from ctnet.engine.logs import log_to_file
from ctnet.process import exit_without_teardown

EXIT_BAD_INPUT = 2
EXIT_NON_FINITE = 3


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--experiment", required=True, help="resolved experiment YAML (docs/experiment.md)")
    parser.add_argument("--out", required=True, help="folder for final.pt, metrics.csv, tb/ and train.log")
    parser.add_argument("--ckpt-dir", default=None,
                        help="checkpoint folder (default OUT/checkpoints); keep it outside the job's outputs")
    parser.add_argument("--gpus", type=int, default=1,
                        help="processes on this node (one per GPU, or CPU processes with --device cpu)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.gpus > 1 and not launched_by_torchrun():
        command = torchrun_command(args.gpus, os.path.abspath(__file__), argv)
        # exec, not a child process: SLURM's signals then reach torchrun, which forwards them to the workers.
        os.execv(command[0], command)
    try:
        train(args.experiment, args.out, ckpt_dir=args.ckpt_dir, device=args.device)
    except TrainingInterrupted as stop:
        print(stop, file=sys.stderr)
        return stop.exit_code
    except NonFiniteLossError as err:
        return fail(err, EXIT_NON_FINITE)
    except (ValueError, OSError, RuntimeError) as err:  # OSError: also a checkpoint that found the disk full
        return fail(err, EXIT_BAD_INPUT)
    return 0


def fail(err, status):
    """Print the one-line error, and append it to train.log: Snakemake deletes the job's log before a retry."""
    print(f"error: {err}", file=sys.stderr)
    log_to_file(str(err))
    return status


if __name__ == "__main__":
    exit_without_teardown(main())
