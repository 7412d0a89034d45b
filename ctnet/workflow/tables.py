"""Writing a reproduced table beside the paper's numbers: results/tables/<table>.csv and .md.

The input is a table plan (Plan.table_plan, stored as JSON by the workflow): rows with their evaluations (the
scores file of the experiment or ensemble, or a list of them with one per training seed; the FLOPs file and view
count of each member; several evaluations for a row that averages dataset splits), and the paper's numbers with
their certainty. A value the paper did not report, or that a row does not reproduce, is left empty.

The numbers come from ctnet.workflow.results (computed once per row), the claims' evidence from
ctnet.workflow.claims: the writers here print what they are given. Each reproduced accuracy comes with its 95 %
interval (results.accuracy_intervals: Wilson for one run's top-1 and top-5, a t interval over seeds and videos
with several seeds, the bootstrap for mean class accuracy): CSV columns `<metric>_lo`/`<metric>_hi`, brackets in
the Markdown. With several seeds a cell is the mean over seeds, and `seeds`, `top1_seed_min`/`_max` give the
spread of one seed. When the plan's `comparable` says the accuracies cannot stand beside the paper's (synthetic
videos, scaled-down models), the differences to the paper are left out and a line under the title says why; with
5 classes or fewer top-5 is 100 % by construction and left empty.
"""

from decimal import ROUND_HALF_UP, Decimal

from ctnet.atomic import write_text_atomic
from ctnet.workflow import bootstrap, claims
from ctnet.workflow.report import csv_text, decimals, markdown_table
from ctnet.workflow.results import TRIVIAL_TOP5_CLASSES, comparable, reproduce_row

COLUMNS = [
    "table", "row", "group", "source", "experiment", "protocol", "views",
    "top1", "top5", "gflops", "gflops_per_view",
    "paper_top1", "paper_top5", "paper_gflops", "paper_gflops_per_view",
    "diff_top1", "diff_top5", "paper_certainty", "note",
    # appended after the original columns, so that readers of the older layout keep working
    "top1_lo", "top1_hi", "top5_lo", "top5_hi", "mean_class_acc", "mean_class_acc_lo", "mean_class_acc_hi",
    # seeds trained per experiment, and the lowest and highest top-1 of one seed (the spread over seeds)
    "seeds", "top1_seed_min", "top1_seed_max",
    # the scores files a reproduced row reads (rows of one training read the same), and whether the table's
    # accuracies stand beside the paper's ("yes", or "no: " and why)
    "scores", "comparable",
]
# appended after the original layout: a CSV written before them reads with them empty
OPTIONAL_COLUMNS = COLUMNS[COLUMNS.index("top1_lo"):]
# the uncertainty: intervals and seeds
INTERVAL_COLUMNS = COLUMNS[COLUMNS.index("top1_lo"):COLUMNS.index("top1_seed_max") + 1]


def _diff(ours, paper):
    return None if ours is None or paper is None else ours - paper


def build_rows(plan):
    """CSV-ready dicts (strings) for every row of the plan, in the spec's order. Besides COLUMNS, each holds
    `_num_videos` and `_num_classes` of its scores (None for rows not reproduced) for the Markdown's notes."""
    compare = comparable(plan)["ok"]
    comparable_cell = "yes" if compare else f"no: {comparable(plan).get('why', '')}".rstrip(": ")
    out = []
    for row in plan["rows"]:
        ours = reproduce_row(row)
        intervals = ours["intervals"] or {}
        trivial_top5 = bool(intervals) and intervals["num_classes"] <= TRIVIAL_TOP5_CLASSES
        if trivial_top5:
            ours["top5"] = None
        paper = row.get("paper", {})
        members = row["evaluations"][0]["members"] if row.get("evaluations") else []
        views = row.get("views") or (members[0]["views"] if len(members) == 1 else None)
        paper_per_view = paper.get("gflops_per_view")
        if paper_per_view is None and paper.get("gflops") is not None and views:
            paper_per_view = paper["gflops"] / views
        certainty = row.get("certainty", {})
        cells = {
            "table": plan["table"],
            "row": row["label"],
            "group": row.get("group", ""),
            "source": row["origin"],  # the published column name: reproduced, quoted or not run
            "experiment": row.get("experiment", row.get("ensemble", " ".join(row.get("mean_over", [])))),
            "protocol": row.get("protocol", ""),
            "views": "" if views is None else str(views),
            "top1": decimals(ours["top1"], 2),
            "top5": decimals(ours["top5"], 2),
            "gflops": decimals(ours["gflops"], 1),
            "gflops_per_view": decimals(ours["gflops_per_view"], 1),
            "paper_top1": decimals(paper.get("top1"), 1),
            "paper_top5": decimals(paper.get("top5"), 1),
            "paper_gflops": decimals(paper.get("gflops"), 1),
            "paper_gflops_per_view": decimals(paper_per_view, 1),
            "diff_top1": decimals(_diff(ours["top1"], paper.get("top1")) if compare else None, 2),
            "diff_top5": decimals(_diff(ours["top5"], paper.get("top5")) if compare else None, 2),
            "paper_certainty": ";".join(f"{key}={value}" for key, value in certainty.items()),
            "note": row.get("note", ""),
        }
        for metric in bootstrap.METRICS:
            point, lo, hi = intervals.get(metric, (None, None, None))
            if metric == "top5" and trivial_top5:
                point = lo = hi = None
            if metric == "mean_class_acc":
                cells[metric] = decimals(point, 2)
            cells[f"{metric}_lo"], cells[f"{metric}_hi"] = decimals(lo, 2), decimals(hi, 2)
        cells["seeds"] = str(intervals.get("seeds", ""))
        spread = intervals.get("spread", {}).get("top1", (None, None))
        cells["top1_seed_min"], cells["top1_seed_max"] = (decimals(value, 2) for value in spread)
        cells["scores"] = " ".join(str(path) for evaluation in row.get("evaluations", [])
                                   for path in bootstrap.seed_list(evaluation["scores"]))
        cells["comparable"] = comparable_cell
        cells["_num_videos"] = intervals.get("num_videos")
        cells["_num_classes"] = intervals.get("num_classes")
        cells["_method"] = intervals.get("method")
        out.append(cells)
    return out


def _percent(text):
    """A CSV accuracy as the Markdown shows it: one decimal rounded half up (31.25 -> 31.3), a trailing '.0'
    dropped (97.5, 100)."""
    return str(Decimal(text).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)).removesuffix(".0")


def _accuracy(row, metric):
    """'97.5 [93.8, 100]': the reproduced accuracy with its bootstrap interval, '' when not reproduced."""
    if not row[metric]:
        return ""
    interval = (row.get(f"{metric}_lo"), row.get(f"{metric}_hi"))
    bracket = f" [{_percent(interval[0])}, {_percent(interval[1])}]" if all(interval) else ""
    return _percent(row[metric]) + bracket


def _cell(ours, paper, certainty):
    """'ours (paper)' with the paper value marked '~' when reconstructed rather than printed."""
    mark = "~" if certainty == "reconstructed" else ""
    paper_text = f"{mark}{paper}" if paper else "–"
    return f"{ours or '–'} ({paper_text})"


def _classes_text(counts):
    return " or ".join(str(count) for count in counts)


def _videos_text(counts):
    counts = sorted(counts)
    return f"the {counts[0]} validation videos" if len(counts) == 1 else \
        f"each row's validation videos ({counts[0]} to {counts[-1]})"


def note_line(plan, rows):
    """The line under the title: why the accuracies do not compare with the paper's and what does, and top-5 left
    empty where it is 100 % by construction. '' when there is nothing to say."""
    parts = []
    compare = comparable(plan)
    if not compare["ok"]:
        parts.append(f"**Accuracies not comparable with the paper's:** {compare.get('why') or 'see the configuration'}"
                     "; no difference to the paper is given. Comparable: the GFLOPs, counted at the paper's "
                     "convention (paper model and class count, paper crop size).")
    few = sorted({row["_num_classes"] for row in rows
                  if row.get("_num_classes") is not None and row["_num_classes"] <= TRIVIAL_TOP5_CLASSES})
    if few:
        parts.append(f"Reproduced top-5 is left empty: with {_classes_text(few)} classes every label is among the "
                     "top 5, so it is 100 % by construction.")
    return " ".join(parts)


def to_markdown(plan, rows, findings):
    certainty = [dict(item.split("=") for item in row["paper_certainty"].split(";") if item) for row in rows]
    lines = [f"# {plan['title']}", ""]
    note = note_line(plan, rows)
    if note:
        lines += [note, ""]
    if plan.get("description"):
        lines += [plan["description"], ""]
    lines += [f"Configuration: `{plan['config']}`. Cells: reproduced (paper); `~` marks a paper value reconstructed "
              "rather than printed, `–` a value not reported or not reproduced. GFLOPs are counted at the paper's "
              "convention (paper model, 256x256 unless the protocol says 224, paper class count) and total over "
              "the views.", ""]
    has_group = any(row["group"] for row in rows)
    deltas = []  # no difference to the paper where the accuracies do not compare
    if comparable(plan)["ok"]:
        deltas = [("Δ Top-1", "diff_top1")]
        if any(row["diff_top5"] for row in rows):
            deltas.append(("Δ Top-5", "diff_top5"))
    seeds = sorted({int(row["seeds"]) for row in rows if row.get("seeds")})
    spread = seeds and seeds[-1] > 1
    header = (["Group"] if has_group else []) + ["Row", "Source", "Views", "Top-1", "Top-5", "GFLOPs"]
    header += [name for name, _ in deltas] + (["Top-1 of one seed (min–max)"] if spread else [])
    cells = []
    for row, cert in zip(rows, certainty):
        cells.append(([row["group"]] if has_group else []) + [
            row["row"], row["source"], row["views"] or "–",
            _cell(_accuracy(row, "top1"), row["paper_top1"], cert.get("top1")),
            _cell(_accuracy(row, "top5"), row["paper_top5"], cert.get("top5")),
            _cell(row["gflops"], row["paper_gflops"], cert.get("gflops")),
        ] + [row[key] or "–" for _, key in deltas])
        if spread:
            cells[-1].append(f"{_percent(row['top1_seed_min'])}–{_percent(row['top1_seed_max'])}"
                             if row["top1_seed_min"] else "–")
    lines += markdown_table(header, cells)
    videos = {row["_num_videos"] for row in rows if row.get("_num_videos") and row.get("top1_lo")}
    if videos:
        methods = sorted({row["_method"] for row in rows if row.get("_method")})
        splits = "; a mean over splits averages each split's" \
            if any(len(row.get("evaluations", [])) > 1 for row in plan["rows"]) else ""
        pooled = (f"; with seeds top-1 and top-5 are the mean over {_classes_text(seeds)} training seeds"
                  if spread else "")
        lines += ["", (f"Brackets: 95 % interval over {_videos_text(videos)}: {' or '.join(methods)} "
                       f"(ctnet/workflow/stats.py{splits}{pooled}); the CSV's mean class accuracy: bootstrap "
                       f"percentile interval, {bootstrap.RESAMPLES} resamples, seed {bootstrap.SEED}.")]
    if findings:
        lines += ["", "Claims of the paper tested on these rows: the evidence; verdicts, under one error control "
                  "over all tables, are in claims.md:", ""]
        lines += [f"- {claims.evidence_line(result)}" for result in findings]
    notes = [(row["row"], row["note"]) for row in rows if row["note"]]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {label}: {note}" for label, note in notes]
    return "\n".join(lines) + "\n"


def write_table(plan, rows, findings, csv_path, md_path):
    """Write the table's CSV and Markdown atomically from its `build_rows` and its claims' evidence."""
    write_text_atomic(csv_path, csv_text(COLUMNS, rows))
    write_text_atomic(md_path, to_markdown(plan, rows, findings))
