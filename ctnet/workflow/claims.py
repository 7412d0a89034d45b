"""The paper's comparative claims, each tested on this run's results: reproduced, contradicted, inconclusive or not run.

A table spec's `findings:` (config/tables/<table>.yaml, schema workflow/schemas/table.schema.json) lists the
comparative statements of the paper that its rows can test: `claim` quotes the paper's sentence, `higher` and
`lower` name a row label or a list of them (every pair higher x lower must hold), `group` picks the rows of one
group where labels repeat across groups, `metric` is top1 (default), top5, mean_class_acc or gflops, `note` says
what the test leaves out. For gflops, `higher` is the row with MORE GFLOPs ("with fewer GFLOPs" puts the CT row
under `lower`).

The verdict of one pair (higher row H, lower row L):

- **not run**: a row is not reproduced (quoted from the paper, skipped in this configuration) or a file it needs
  is missing;
- accuracies: the paired bootstrap of H - L over the same validation videos (`bootstrap.paired_difference`:
  both rows' per-video scores resampled with the same indices); for rows averaged over dataset splits
  (`mean_over`), the paired differences of each split averaged, each split resampled (together when the splits
  hold the very same videos, as `bootstrap.row_intervals` does). **reproduced** when the 95 % interval lies
  above 0, **contradicted** when it lies below 0, **inconclusive** when it holds 0, and also when the two rows were
  not evaluated on the same videos (a note says so; the pair cannot be compared);
- gflops: the exact reproduced GFLOPs of each row (as ctnet.workflow.tables counts them): **reproduced** when
  H's are larger, **contradicted** otherwise.

A claim of several pairs is contradicted when any pair is, not run when none is contradicted but a pair is not
run, reproduced when every pair is, inconclusive otherwise; it reports its worst pair (the pair with that verdict
and the lowest lower bound). `evaluate_plan` is the one function that makes verdicts: the per-table Markdown
(ctnet.workflow.tables) and the claims page (scripts/make_claims.py) both use it.

Torch-free, like the rest of ctnet.workflow.
"""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ctnet.workflow import bootstrap, tables
from ctnet.workflow.io import ConfigError

ACCURACY_METRICS = bootstrap.METRICS  # top1, top5, mean_class_acc
METRICS = ACCURACY_METRICS + ("gflops",)
DEFAULT_METRIC = "top1"
METRIC_NAMES = {"top1": "top-1", "top5": "top-5", "mean_class_acc": "mean class acc.", "gflops": "GFLOPs"}
REPRODUCED, INCONCLUSIVE, CONTRADICTED, NOT_RUN = "reproduced", "inconclusive", "contradicted", "not run"
VERDICTS = (REPRODUCED, INCONCLUSIVE, CONTRADICTED, NOT_RUN)  # the order of the counts line
# How bad a pair's verdict is for the claim: a contradicted pair decides it, then a missing one, then doubt.
_SEVERITY = {CONTRADICTED: 3, NOT_RUN: 2, INCONCLUSIVE: 1, REPRODUCED: 0}
CSV_COLUMNS = ["table", "group", "claim", "metric", "higher", "lower", "pair_higher", "pair_lower",
               "difference", "lo", "hi", "verdict", "videos", "note"]


@dataclass
class PairResult:
    """One pair of a claim: H - L (points of accuracy, or GFLOPs) with its 95 % interval (None for GFLOPs)."""
    higher: str
    lower: str
    verdict: str
    difference: float | None = None
    lo: float | None = None
    hi: float | None = None
    videos: int | None = None
    note: str = ""

    def sort_key(self):
        bound = self.lo if self.lo is not None else self.difference
        return (-_SEVERITY[self.verdict], np.inf if bound is None else bound)


@dataclass
class ClaimResult:
    """The verdict of one finding; `pair` is its worst pair (None only for a claim without pairs)."""
    table: str
    claim: str
    metric: str
    higher: list
    lower: list
    verdict: str
    pair: PairResult | None
    group: str = ""
    note: str = ""
    pairs: list = field(default_factory=list)

    def __iter__(self):
        """(claim, difference, passed) as the older check_findings returned them, for callers that unpack three
        values (passed: True reproduced, False contradicted, None otherwise)."""
        passed = {REPRODUCED: True, CONTRADICTED: False}.get(self.verdict)
        return iter((self.claim, self.pair.difference if self.pair else None, passed))


# ----------------------------------------------------------------------------------------------- the spec


def labels(finding, side):
    """The row labels of one side of a finding, as a list."""
    value = finding[side]
    return [value] if isinstance(value, str) else list(value)


def metric_of(finding):
    return finding.get("metric", DEFAULT_METRIC)


def find_row(rows, label, group=None, where="findings"):
    """The one row of `rows` (spec or plan rows) labelled `label` (in `group` when given); ConfigError otherwise."""
    matches = [row for row in rows if row["label"] == label and (group is None or row.get("group") == group)]
    if len(matches) == 1:
        return matches[0]
    in_group = f" in group {group!r}" if group is not None else ""
    if not matches:
        known = sorted({row["label"] for row in rows if group is None or row.get("group") == group})
        raise ConfigError(f"{where}: no row labelled {label!r}{in_group}; use one of {known}")
    groups = sorted({str(row.get("group")) for row in matches})
    raise ConfigError(f"{where}: {len(matches)} rows are labelled {label!r}; add `group:` (one of {groups})")


def check_labels(spec, source):
    """Every finding of a table spec names rows of the spec, once each, never a row on both sides: one
    ConfigError line naming `source` (config/tables/<table>.yaml) and the finding otherwise."""
    for index, finding in enumerate(spec.get("findings", [])):
        where = f"{source}: findings[{index}] ({finding['claim'][:60]})"
        high, low = labels(finding, "higher"), labels(finding, "lower")
        for side, names in (("higher", high), ("lower", low)):
            if len(set(names)) != len(names):
                raise ConfigError(f"{where}: {side}: a row listed twice")
            for label in names:
                find_row(spec["rows"], label, finding.get("group"), f"{where}: {side}")
        both = sorted(set(high) & set(low))
        if both:
            raise ConfigError(f"{where}: {both[0]!r} is both higher and lower; a row cannot beat itself")


# ----------------------------------------------------------------------------------------------- verdicts


def interval_verdict(lo, hi):
    """reproduced above 0, contradicted below 0, inconclusive when the interval holds 0."""
    if lo > 0:
        return REPRODUCED
    if hi < 0:
        return CONTRADICTED
    return INCONCLUSIVE


def _not_run_reason(row, metric):
    """Why a row cannot be tested on `metric` ('' when it can): not reproduced, or a file it needs is missing."""
    if row["origin"] != "reproduced":
        why = "quoted from the paper" if row["origin"] == "quoted" else "not run in this configuration"
        return f"{row['label']}: {why}"
    if not row.get("evaluations"):
        return f"{row['label']}: no evaluations in the plan"
    needed = []
    for evaluation in row["evaluations"]:
        seeds = bootstrap.seed_list(evaluation["scores"])
        if metric == "gflops":
            needed += seeds[:1] + [member["flops"] for member in evaluation["members"]]
        else:
            needed += [str(bootstrap.npz_path(path)) for path in seeds]
    missing = [path for path in needed if not Path(path).is_file()]
    return f"{row['label']}: {missing[0]} is missing" if missing else ""


class ScoresCache:
    """Per-video scores loaded once per path (many claims share rows)."""

    def __init__(self):
        self._loaded = {}

    def __call__(self, path):
        key = str(bootstrap.npz_path(path))
        if key not in self._loaded:
            self._loaded[key] = bootstrap.load(key)
        return self._loaded[key]


def _row_gflops(row):
    """A row's reproduced GFLOPs as the table shows them: ctnet.workflow.tables' count of each evaluation (summed
    over an ensemble's members and views), averaged over the evaluations like tables.reproduce_row."""
    values = [tables._evaluate(evaluation)["gflops"] for evaluation in row["evaluations"]]
    return sum(values) / len(values)


def accuracy_pair(high, low, metric, scores=None):
    """The verdict of one pair of reproduced rows on an accuracy metric (paired bootstrap)."""
    scores = scores or ScoresCache()
    pair = PairResult(high["label"], low["label"], INCONCLUSIVE)
    if len(high["evaluations"]) != len(low["evaluations"]):
        pair.note = (f"{high['label']} averages {len(high['evaluations'])} evaluations, {low['label']} "
                     f"{len(low['evaluations'])}: not paired over the same videos")
        return pair
    # An unreadable file is an error (one line), not a verdict: load before pairing.
    high_data = [[scores(path) for path in bootstrap.seed_list(evaluation["scores"])]
                 for evaluation in high["evaluations"]]
    low_data = [[scores(path) for path in bootstrap.seed_list(evaluation["scores"])]
                for evaluation in low["evaluations"]]
    try:
        result = bootstrap.paired_rows(high_data, low_data)
    except bootstrap.ScoresFileError as err:
        if "video ids are not unique" in str(err):
            raise
        pair.note = f"not evaluated on the same videos ({err}); the rows cannot be paired"
        return pair
    pair.difference, pair.lo, pair.hi = result[metric]
    pair.videos = result["num_videos"]
    pair.verdict = interval_verdict(pair.lo, pair.hi)
    classes = high_data[0][0]["scores"].shape[1]
    if metric == "top5" and classes <= tables.TRIVIAL_TOP5_CLASSES:
        pair.note = f"with {classes} classes top-5 is 100 % by construction"
    return pair


def gflops_pair(high, low):
    """The verdict of one pair on GFLOPs: exact, higher means more GFLOPs."""
    gh, gl = _row_gflops(high), _row_gflops(low)
    return PairResult(high["label"], low["label"], REPRODUCED if gh > gl else CONTRADICTED, difference=gh - gl)


def combine(pairs):
    """(verdict, worst pair) of a claim from the verdicts of its pairs."""
    verdicts = {pair.verdict for pair in pairs}
    if CONTRADICTED in verdicts:
        verdict = CONTRADICTED
    elif NOT_RUN in verdicts:
        verdict = NOT_RUN
    elif verdicts == {REPRODUCED}:
        verdict = REPRODUCED
    else:
        verdict = INCONCLUSIVE
    candidates = [pair for pair in pairs if pair.verdict == verdict]
    return verdict, min(candidates, key=PairResult.sort_key) if candidates else None


def evaluate_finding(plan, finding, scores=None):
    """The ClaimResult of one finding of a table plan."""
    metric = metric_of(finding)
    if metric not in METRICS:
        raise ConfigError(f"table {plan['table']}: findings ({finding['claim']}): metric {metric!r} is not one of "
                          f"{', '.join(METRICS)}")
    group = finding.get("group")
    where = f"table {plan['table']}: findings ({finding['claim'][:60]})"
    high_rows = [find_row(plan["rows"], label, group, where) for label in labels(finding, "higher")]
    low_rows = [find_row(plan["rows"], label, group, where) for label in labels(finding, "lower")]
    reasons = {row["label"]: _not_run_reason(row, metric) for row in high_rows + low_rows}
    scores = scores or ScoresCache()
    pairs = []
    for high in high_rows:
        for low in low_rows:
            why = "; ".join(filter(None, (reasons[high["label"]], reasons[low["label"]])))
            if why:
                pairs.append(PairResult(high["label"], low["label"], NOT_RUN, note=why))
            elif metric == "gflops":
                pairs.append(gflops_pair(high, low))
            else:
                pairs.append(accuracy_pair(high, low, metric, scores))
    verdict, worst = combine(pairs)
    return ClaimResult(table=plan["table"], claim=finding["claim"], metric=metric,
                       higher=labels(finding, "higher"), lower=labels(finding, "lower"), verdict=verdict,
                       pair=worst, group=group or "", note=finding.get("note", ""), pairs=pairs)


def evaluate_plan(plan, scores=None):
    """The ClaimResult of every finding of a table plan (Plan.table_plan), in the spec's order."""
    scores = scores or ScoresCache()
    return [evaluate_finding(plan, finding, scores) for finding in plan.get("findings", [])]


# ----------------------------------------------------------------------------------------------- text


def _signed(value, digits=1):
    return f"{value:+.{digits}f}"


def difference_text(result):
    """'+3.2 points [1.1, 5.0]', '+12.4 GFLOPs (exact)', or '' when the worst pair was not measured."""
    pair = result.pair
    if pair is None or pair.difference is None:
        return ""
    if result.metric == "gflops":
        return f"{_signed(pair.difference)} GFLOPs (exact)"
    return f"{_signed(pair.difference)} points [{_signed(pair.lo)}, {_signed(pair.hi)}]"


def pair_text(result):
    """'A > B' of the worst pair, with ' (1 of 3 pairs)' style context for several pairs."""
    if result.pair is None:
        return ""
    text = f"{result.pair.higher} > {result.pair.lower}"
    if len(result.pairs) > 1:
        text += f" (worst of {len(result.pairs)} pairs)"
    return text


def verdict_line(result):
    """One line for a table's Markdown and the log: 'claim: verdict (metric, worst pair: difference; note)'."""
    details = [METRIC_NAMES[result.metric] + (f", {pair_text(result)}" if result.pair else "")]
    measured = difference_text(result)
    if measured:
        details[0] += f": {measured}"
    notes = [note for note in ((result.pair.note if result.pair else ""), result.note) if note]
    return f"{result.claim}: {result.verdict} ({'; '.join(details + notes)})"


def counts(results):
    """{verdict: count} over VERDICTS, every verdict present."""
    return {verdict: sum(result.verdict == verdict for result in results) for verdict in VERDICTS}


def counts_line(results):
    """'14 reproduced, 3 inconclusive, 1 contradicted, 2 not run'."""
    return ", ".join(f"{count} {verdict}" for verdict, count in counts(results).items())


def _number(value, digits):
    return "" if value is None else f"{value:.{digits}f}"


def to_csv(results):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        pair = result.pair or PairResult("", "", result.verdict)
        notes = "; ".join(note for note in (pair.note, result.note) if note)
        writer.writerow({
            "table": result.table, "group": result.group, "claim": result.claim, "metric": result.metric,
            "higher": "; ".join(result.higher), "lower": "; ".join(result.lower),
            "pair_higher": pair.higher, "pair_lower": pair.lower,
            "difference": _number(pair.difference, 2), "lo": _number(pair.lo, 2), "hi": _number(pair.hi, 2),
            "verdict": result.verdict, "videos": "" if pair.videos is None else str(pair.videos), "note": notes,
        })
    return buffer.getvalue()


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(plans, results):
    """The claims page: counts, what the verdicts test on this run, then one row per claim."""
    lines = ["# Claims of the paper, tested on this run", "", f"**{counts_line(results)}** "
             f"({len(results)} claims from {len(plans)} tables).", ""]
    not_comparable = [plan for plan in plans if not tables.comparable(plan)["ok"]]
    if not_comparable:
        whys = sorted({tables.comparable(plan).get("why") or "see the configuration" for plan in not_comparable})
        names = ", ".join(str(plan["table"]) for plan in not_comparable)
        scope = "This run's accuracies" if len(not_comparable) == len(plans) else f"The accuracies of tables {names}"
        lines += [f"**Verdicts are on this run's data.** {scope} do not stand beside the paper's "
                  f"({'; '.join(whys)}): each verdict says whether the paper's claim holds for these "
                  "(synthetic or scaled-down) models and videos, which is what it tests here, not whether the "
                  "paper's numbers are reproduced.", ""]
    lines += ["Each claim quotes the paper and names the rows of its table that test it (every pair higher > "
              "lower). Accuracies: paired bootstrap of the difference over the same validation videos "
              f"({bootstrap.RESAMPLES} resamples, seed {bootstrap.SEED}; rows averaged over splits average each "
              "split's paired difference); **reproduced** when the 95 % interval lies above 0, **contradicted** "
              "below 0, **inconclusive** when it holds 0 or the rows were not evaluated on the same videos. "
              "GFLOPs (the paper's convention, total over the views): exact. **not run**: a row is quoted from the "
              "paper, skipped in this configuration or has no results. A claim of several pairs shows its worst "
              "pair.", ""]
    header = ["Table", "Claim (the paper's words)", "Metric", "Rows (worst pair)", "Difference [95 % interval]",
              "Verdict", "Note"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        table = f"{result.table} ({result.group})" if result.group else str(result.table)
        notes = "; ".join(note for note in ((result.pair.note if result.pair else ""), result.note) if note)
        cells = [table, result.claim, METRIC_NAMES[result.metric], pair_text(result),
                 difference_text(result) or "–", f"**{result.verdict}**", notes]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"
