#!/usr/bin/env python
"""Figure 5: Kinetics-400 top-1 accuracy against per-clip GFLOPs, from Table 4's CSV.

scripts/plot_fig5.py --csv results/tables/4.csv --out results/figures/fig5_accuracy_vs_gflops.png
Two panels, never one axis: left, the paper's Figure 5 as published (the quoted methods grey, CT-Net red, from the
table's paper columns); right, this run's CT-Net rows at their GFLOPs per view counted at the paper's convention,
with the 95 % interval of their top-1 (the CSV's `top1_lo`/`top1_hi`) as error bars. The right panel's title says
when the table marked its accuracies not comparable with the paper's (synthetic videos, scaled-down models). Rows
that read the same scores files (one training serving several rows, e.g. R50 and R101 at CPU scale) are joined by a
dotted line and marked so. Ensembles have no single per-clip cost and are left out.
"""

import argparse
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

from ctnet.workflow.plots import (  # noqa: E402
    comparable_with_paper, error_bar, place_labels, read_table_csv, same_training, save_figure)

PAPER_TITLE = "Paper: Kinetics-400, as published"
RUN_TITLES = {True: "This run: comparable with the paper", None: "This run"}
QUOTED, CTNET, OURS, SHARED = "tab:grey", "tab:red", "tab:blue", "tab:orange"


def short(row):
    """The row's method without its setting in brackets: 'CT-Net-R50 16f (16x3x4)' -> 'CT-Net-R50 16f'."""
    return row["row"].split(" (")[0]


def draw_paper(ax, rows):
    """The paper's points, hollow circles; returns them as place_labels wants them."""
    points = []
    for row in rows:
        if row["paper_gflops_per_view"] is not None and row["paper_top1"] is not None:
            colour = QUOTED if row["source"] == "quoted" else CTNET
            ax.scatter(row["paper_gflops_per_view"], row["paper_top1"], facecolors="none", edgecolors=colour, s=45,
                       linewidths=1.4, zorder=3)
            points.append((row["paper_gflops_per_view"], row["paper_top1"], short(row), colour))
    ax.set_ylabel("Top-1 accuracy (%), paper")
    return points


def draw_run(ax, rows):
    """This run's points with their error bars, rows of one training joined; returns the points and the bars
    and joining lines (for place_labels to keep clear of)."""
    ours = [row for row in rows if row["source"] == "reproduced"
            and row["gflops_per_view"] is not None and row["top1"] is not None]
    groups = same_training(ours)
    shared = {id(row) for group in groups for row in group}
    points, drawn = [], []
    for row in ours:
        colour = SHARED if id(row) in shared else OURS
        ax.scatter(row["gflops_per_view"], row["top1"], color=colour, marker="s", s=45, zorder=3)
        yerr = error_bar(row, "top1")
        if yerr is not None:
            container = ax.errorbar(row["gflops_per_view"], row["top1"], yerr=yerr, fmt="none", ecolor=colour,
                                    elinewidth=1.2, capsize=3, zorder=2)
            _, caps, lines = container.lines
            drawn.extend((*caps, *lines))
        points.append((row["gflops_per_view"], row["top1"], short(row), colour))
    for group in groups:
        drawn += ax.plot([row["gflops_per_view"] for row in group], [row["top1"] for row in group], ls=":",
                         color=SHARED,
                         label=f"one training\nserves {' and '.join(short(row) for row in group)}")
    ax.set_ylabel("Top-1 accuracy (%), this run")
    return points, drawn


def draw(rows):
    """The figure for Table 4's rows (as read_table_csv gives them)."""
    fig, (ax_paper, ax_run) = plt.subplots(1, 2, figsize=(12, 5.5))
    paper_points = draw_paper(ax_paper, rows)
    run_points, avoid = draw_run(ax_run, rows)
    ax_paper.set_title(PAPER_TITLE, fontsize=10)
    comparable, why = comparable_with_paper(rows)
    run_title = (RUN_TITLES[comparable] if comparable is not False
                 else f"This run: not comparable with the paper\n({why})")
    ax_run.set_title(run_title, fontsize=10)
    if ax_run.get_legend_handles_labels()[0]:
        ax_run.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    for ax, points in ((ax_paper, paper_points), (ax_run, run_points)):
        ax.set_xlabel("GFLOPs per clip (paper convention)")
        ax.grid(alpha=0.3)
        ax.margins(x=0.2, y=0.15)  # room for the labels inside the frame
        if not points:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle("Figure 5: top-1 accuracy vs per-clip GFLOPs (bars: 95 % interval of this run's top-1)",
                 fontsize=11)
    fig.tight_layout()
    # sorted by x, so that each label is placed beside neighbours already placed
    place_labels(ax_paper, sorted(paper_points))
    place_labels(ax_run, sorted(run_points), avoid=avoid)
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True, help="Table 4 written by make_table.py")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    try:
        rows = read_table_csv(args.csv)
    except ValueError as err:
        parser.exit(2, f"plot_fig5.py: error: {err}\n")
    save_figure(draw(rows), args.out)
    print(f"{len(rows)} rows -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
