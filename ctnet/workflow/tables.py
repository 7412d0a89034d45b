"""Writing a reproduced table beside the paper's numbers: results/tables/<table>.csv and .md.

The input is a table plan (Plan.table_plan, stored as JSON by the workflow): rows with their evaluations (the
scores file of the experiment or ensemble, the FLOPs file and view count of each member; several for a row that
averages dataset splits), and the paper's numbers with their certainty. A value the paper did not report, or
that a row does not reproduce, is left empty.
"""

import csv
import io

from ctnet.atomic import write_text_atomic
from ctnet.workflow.io import ConfigError, read_json

COLUMNS = [
    "table", "row", "group", "source", "experiment", "protocol", "views",
    "top1", "top5", "gflops", "gflops_per_view",
    "paper_top1", "paper_top5", "paper_gflops", "paper_gflops_per_view",
    "diff_top1", "diff_top5", "paper_certainty", "note",
]
METRICS = ("top1", "top5", "gflops", "gflops_per_view")


def _number(value, digits):
    return "" if value is None else f"{value:.{digits}f}"


def _diff(ours, paper):
    return None if ours is None or paper is None else ours - paper


def _evaluate(evaluation):
    """top1, top5 and GFLOPs (summed over the members' views) of one scores file of a row."""
    scores = read_json(evaluation["scores"])
    for key in ("top1", "top5"):
        if key not in scores:
            raise ConfigError(f"{evaluation['scores']}: no {key!r}; rerun the test/fuse rule that writes it")
    per_view = []
    for member in evaluation["members"]:
        gflops = read_json(member["flops"]).get("gflops")
        if gflops is None:
            raise ConfigError(f"{member['flops']}: no 'gflops'; rerun count_flops for it")
        per_view.append((gflops, member["views"]))
    return {
        "top1": float(scores["top1"]),
        "top5": float(scores["top5"]),
        "gflops": sum(gflops * views for gflops, views in per_view),
        "gflops_per_view": per_view[0][0] if len(per_view) == 1 else None,
    }


def reproduce_row(row):
    """The reproduced numbers of one planned row: the mean over its evaluations (one, except for rows averaged
    over dataset splits) of top1/top5 and of the GFLOPs, which sum over an ensemble's members and views."""
    if row["origin"] != "reproduced":
        return {key: None for key in METRICS}
    results = [_evaluate(evaluation) for evaluation in row["evaluations"]]
    mean = {}
    for key in METRICS:
        values = [result[key] for result in results]
        mean[key] = None if None in values else sum(values) / len(values)
    return mean


def build_rows(plan):
    """CSV-ready dicts (strings) for every row of the plan, in the spec's order."""
    out = []
    for row in plan["rows"]:
        ours = reproduce_row(row)
        paper = row.get("paper", {})
        members = row["evaluations"][0]["members"] if row.get("evaluations") else []
        views = row.get("views") or (members[0]["views"] if len(members) == 1 else None)
        paper_per_view = paper.get("gflops_per_view")
        if paper_per_view is None and paper.get("gflops") is not None and views:
            paper_per_view = paper["gflops"] / views
        certainty = row.get("certainty", {})
        out.append({
            "table": plan["table"],
            "row": row["label"],
            "group": row.get("group", ""),
            "source": row["origin"],  # the published column name: reproduced, quoted or not run
            "experiment": row.get("experiment", row.get("ensemble", " ".join(row.get("mean_over", [])))),
            "protocol": row.get("protocol", ""),
            "views": "" if views is None else str(views),
            "top1": _number(ours["top1"], 2),
            "top5": _number(ours["top5"], 2),
            "gflops": _number(ours["gflops"], 1),
            "gflops_per_view": _number(ours["gflops_per_view"], 1),
            "paper_top1": _number(paper.get("top1"), 1),
            "paper_top5": _number(paper.get("top5"), 1),
            "paper_gflops": _number(paper.get("gflops"), 1),
            "paper_gflops_per_view": _number(paper_per_view, 1),
            "diff_top1": _number(_diff(ours["top1"], paper.get("top1")), 2),
            "diff_top5": _number(_diff(ours["top5"], paper.get("top5")), 2),
            "paper_certainty": ";".join(f"{key}={value}" for key, value in certainty.items()),
            "note": row.get("note", ""),
        })
    return out


def check_findings(plan, rows):
    """Each finding of the spec: (claim, gap in points or None when a side is missing, passed or None)."""
    by_label = {row["row"]: row for row in rows}
    results = []
    for finding in plan.get("findings", []):
        metric = finding.get("metric", "top1")
        high, low = by_label[finding["higher"]][metric], by_label[finding["lower"]][metric]
        if not high or not low:
            results.append((finding["claim"], None, None))
            continue
        gap = float(high) - float(low)
        results.append((finding["claim"], gap, gap >= finding.get("min_gap", 0.0) and gap > 0))
    return results


def to_csv(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(ours, paper, certainty):
    """'ours (paper)' with the paper value marked '~' when reconstructed rather than printed."""
    mark = "~" if certainty == "reconstructed" else ""
    paper_text = f"{mark}{paper}" if paper else "–"
    return f"{ours or '–'} ({paper_text})"


def to_markdown(plan, rows):
    certainty = [dict(item.split("=") for item in row["paper_certainty"].split(";") if item) for row in rows]
    lines = [f"# {plan['title']}", ""]
    if plan.get("description"):
        lines += [plan["description"], ""]
    lines += [f"Configuration: `{plan['config']}`. Cells: reproduced (paper); `~` marks a paper value reconstructed "
              "rather than printed, `–` a value not reported or not reproduced. GFLOPs are counted at the paper's "
              "convention (paper model, 256x256 unless the protocol says 224, paper class count) and total over "
              "the views.", ""]
    has_group = any(row["group"] for row in rows)
    header = (["Group"] if has_group else []) + ["Row", "Source", "Views", "Top-1", "Top-5", "GFLOPs", "Δ Top-1"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row, cert in zip(rows, certainty):
        cells = ([row["group"]] if has_group else []) + [
            row["row"].replace("|", "\\|"), row["source"], row["views"] or "–",
            _cell(row["top1"], row["paper_top1"], cert.get("top1")),
            _cell(row["top5"], row["paper_top5"], cert.get("top5")),
            _cell(row["gflops"], row["paper_gflops"], cert.get("gflops")),
            row["diff_top1"] or "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    findings = check_findings(plan, rows)
    if findings:
        lines += ["", "Findings of the paper checked on the reproduced numbers:", ""]
        for claim, gap, passed in findings:
            verdict = "not measured" if passed is None else ("holds" if passed else "does NOT hold")
            gap_text = "" if gap is None else f" (gap {gap:+.1f} points)"
            lines.append(f"- {claim}: {verdict}{gap_text}")
    notes = [(row["row"], row["note"]) for row in rows if row["note"]]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {label}: {note}" for label, note in notes]
    return "\n".join(lines) + "\n"


def write_table(plan, csv_path, md_path):
    """Build the rows of `plan` from the result files and write both outputs atomically."""
    rows = build_rows(plan)
    write_text_atomic(csv_path, to_csv(rows))
    write_text_atomic(md_path, to_markdown(plan, rows))
    return rows

