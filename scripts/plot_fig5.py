#!/usr/bin/env python
"""Figure 5: Kinetics-400 top-1 accuracy against per-clip GFLOPs, from Table 4's CSV.

scripts/plot_fig5.py --csv results/tables/4.csv --out results/figures/fig5_accuracy_vs_gflops.png
The paper's points (quoted methods and CT-Net) are hollow; the reproduced CT-Net models are filled, placed at
their GFLOPs per view counted at the paper's convention, with the 95 % bootstrap interval of their top-1 (the CSV's
`top1_lo`/`top1_hi`) as error bars. Ensembles have no single per-clip cost and are left out.
"""

import argparse
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

from ctnet.workflow.plots import error_bar, read_table_csv, save_figure  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True, help="Table 4 written by make_table.py")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    try:
        rows = read_table_csv(args.csv)
    except ValueError as err:
        parser.exit(2, f"plot_fig5.py: error: {err}\n")

    fig, ax = plt.subplots(figsize=(7.5, 5))
    plotted = 0
    for row in rows:
        ours = row["source"] == "reproduced"
        paper = (row["paper_gflops_per_view"], row["paper_top1"])
        if None not in paper:
            ax.scatter(*paper, facecolors="none", edgecolors="tab:red" if ours else "tab:grey", s=55)
            ax.annotate(row["row"].split(" (")[0], paper, fontsize=7, xytext=(4, 3), textcoords="offset points")
            plotted += 1
        if ours and row["gflops_per_view"] is not None and row["top1"] is not None:
            ax.scatter(row["gflops_per_view"], row["top1"], color="tab:blue", marker="s", s=55, zorder=3)
            yerr = error_bar(row, "top1")
            if yerr is not None:
                ax.errorbar(row["gflops_per_view"], row["top1"], yerr=yerr, fmt="none", ecolor="tab:blue",
                            elinewidth=1.2, capsize=3, zorder=2)
            ax.annotate(f"{row['row'].split(' (')[0]} (reproduced)", (row["gflops_per_view"], row["top1"]),
                        fontsize=7, xytext=(4, -10), textcoords="offset points", color="tab:blue")
            plotted += 1
    ax.set_xlabel("GFLOPs per clip (paper convention)")
    ax.set_ylabel("Top-1 accuracy (%)")
    ax.set_title("Figure 5: accuracy vs per-clip GFLOPs on Kinetics-400\n"
                 "hollow: paper (red: CT-Net), blue squares: this reproduction (bars: 95 % bootstrap interval)",
                 fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, args.out)
    print(f"{plotted} points -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
