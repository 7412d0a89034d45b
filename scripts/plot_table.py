#!/usr/bin/env python
"""Plot an ablation table's accuracy against its GFLOPs: scripts/plot_table.py --csv T.csv --out T.png

Reproduced rows are filled markers, the paper's numbers (where reported) hollow markers of the same colour,
so that trends compare even though a CPU-scale run's accuracies are on another scale than the paper's. Reproduced
points carry error bars: the 95 % bootstrap interval of the CSV's `<metric>_lo`/`_hi` columns (none where empty).
"""

import argparse
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

from ctnet.workflow.plots import error_bar, read_table_csv, save_figure  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True, help="table written by make_table.py")
    parser.add_argument("--x", default="gflops", choices=("gflops", "gflops_per_view"))
    parser.add_argument("--y", default="top1", choices=("top1", "top5"))
    parser.add_argument("--title", default="")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    try:
        rows = read_table_csv(args.csv)
    except ValueError as err:
        parser.exit(2, f"plot_table.py: error: {err}\n")

    fig, (ax_ours, ax_paper) = plt.subplots(1, 2, figsize=(11, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, row in enumerate(rows):
        colour = colours[index % len(colours)]
        ours = (row[args.x], row[args.y])
        paper = (row[f"paper_{args.x}"], row[f"paper_{args.y}"])
        if None not in ours:
            ax_ours.scatter(*ours, color=colour, s=60, label=row["row"], zorder=3)
            yerr = error_bar(row, args.y)
            if yerr is not None:
                ax_ours.errorbar(*ours, yerr=yerr, fmt="none", ecolor=colour, elinewidth=1.2, capsize=3, zorder=2)
        if None not in paper:
            ax_paper.scatter(*paper, facecolors="none", edgecolors=colour, s=60, linewidths=1.5, label=row["row"])
    for ax, name in ((ax_ours, "reproduced"), (ax_paper, "paper")):
        ax.set_xlabel(f"{'GFLOPs per view' if args.x == 'gflops_per_view' else 'GFLOPs'} (paper convention)")
        ax.set_ylabel(f"{'Top-1' if args.y == 'top1' else 'Top-5'} accuracy (%), {name}")
        ax.grid(alpha=0.3)
        if ax.collections:
            ax.legend(fontsize=7, loc="best")
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
    ax_ours.set_title("reproduced; bars: 95 % bootstrap interval over the videos", fontsize=9)
    ax_paper.set_title("paper", fontsize=9)
    fig.suptitle(args.title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, args.out)
    print(f"{len(rows)} rows -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
