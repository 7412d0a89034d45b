"""The paper's comparative claims, each tested on this run's results: the evidence of each claim
(`evaluate_plan`) and the page's verdicts under one error control (`decide`).

A table spec's `findings:` (ctnet.workflow.findings) name the rows that test a claim, every pair higher x lower.
Two kinds of claim, counted apart:

- **GFLOPs facts** (metric gflops): properties of the paper's full-size models, counted at the paper's convention
  whatever this run trained (ctnet.workflow.results): each pair **holds** when the higher row's GFLOPs are larger,
  else **does not hold**; the claim holds when every pair does.
- **Accuracy claims** (top1, top5, mean_class_acc). Each pair's per-video differences H - L over the same
  validation videos, seed k of one row against seed k of the other (bootstrap.paired_seed_values), give the
  difference with its 95 % interval and p-value (stats.seed_interval: trainings' and videos' noise, t with
  S - 1 degrees of freedom). A claim is tested only when every pair has at least `min_seeds` seeds (the plan's
  `min_seeds`, DEFAULT_MIN_SEEDS): all pairs above 0 is tested with the largest of their p-values (every pair
  must hold: an intersection-union test, which needs no correction), a pair at or below 0 with the smallest such
  p-value times the number of pairs (Bonferroni within the claim). `decide` then applies Holm's step-down to
  the page's tested claims: **reproduced** or **contradicted** where the adjusted p-value is below ALPHA (the
  family-wise error rate of the page's verdict words), **inconclusive** otherwise.

Claims without a verdict word say why: **one run** (fewer seeds than `min_seeds`: the difference and its
interval, the videos' noise alone for one seed, with McNemar's exact p-value for top-1 and top-5, but no
verdict about one training), **undecidable** (the rows read the very same scores for every seed: one trained
model, as a fusion of one model with itself), **not comparable** (other videos, or
averages of other numbers of splits), **not run** (a row quoted from the paper, skipped, or a file missing), and
**same test** (its pairs read the very scores of an earlier claim's: at CPU scale V1 and V2 rows are one
training; it shows that claim's verdict and is counted once). `paper_gap` (the difference the paper states) is
set against the interval where the accuracies compare with the paper's.

Torch-free, like the rest of ctnet.workflow.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ctnet.workflow import bootstrap, results, stats
from ctnet.workflow.findings import DEFAULT_MIN_SEEDS, find_row, labels, metric_of
from ctnet.workflow.io import ConfigError
from ctnet.workflow.report import csv_text, decimals, markdown_table

ACCURACY_METRICS = bootstrap.METRICS  # top1, top5, mean_class_acc
METRICS = ACCURACY_METRICS + ("gflops",)
METRIC_NAMES = {"top1": "top-1", "top5": "top-5", "mean_class_acc": "mean class acc.", "gflops": "GFLOPs"}
ALPHA = stats.ALPHA
REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
ONE_RUN, UNDECIDABLE, NOT_COMPARABLE, NOT_RUN = "one run", "undecidable", "not comparable", "not run"
SAME_TEST, TESTED = "same test", "tested"
ACCURACY_VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, ONE_RUN, UNDECIDABLE, NOT_COMPARABLE, NOT_RUN)
HOLDS, FAILS = "holds", "does not hold"
FACT_VERDICTS = (HOLDS, FAILS, NOT_RUN)
# Which pair speaks for a claim that is not tested: the first status found in this order.
_PRECEDENCE = (NOT_RUN, NOT_COMPARABLE, UNDECIDABLE, ONE_RUN)
CSV_COLUMNS = ["table", "group", "claim", "metric", "higher", "lower", "pair_higher", "pair_lower",
               "difference", "lo", "hi", "verdict", "videos", "note",
               "kind", "seeds", "p", "p_holm", "mcnemar_p", "paper_gap", "paper_gap_inside", "same_as"]


@dataclass
class PairResult:
    """One pair of a claim: H - L (points of accuracy, or GFLOPs) with its 95 % interval and p-value (accuracy)."""
    higher: str
    lower: str
    status: str
    difference: float | None = None
    lo: float | None = None
    hi: float | None = None
    p: float | None = None
    seeds: int | None = None
    videos: int | None = None
    mcnemar_p: float | None = None
    note: str = ""
    key: tuple = ()  # digests of the scores both rows read: the same key is the same test


@dataclass
class ClaimResult:
    """The evidence and verdict of one finding. `status` is the evidence (TESTED, ONE_RUN, ..., or HOLDS/FAILS),
    `verdict` what the page says after `decide`; `pair` the pair that speaks for the claim."""
    table: str
    claim: str
    metric: str
    higher: list
    lower: list
    status: str
    pair: PairResult | None
    group: str = ""
    note: str = ""
    pairs: list = field(default_factory=list)
    paper_gap: float | None = None
    comparable: bool = True
    p: float | None = None          # the claim's p-value (tested claims), before the page's correction
    direction: int = 0              # +1 all pairs above 0, -1 a pair below 0, 0 otherwise
    verdict: str = ""
    p_holm: float | None = None
    same_as: str = ""

    @property
    def is_fact(self):
        return self.metric == "gflops"


# ----------------------------------------------------------------------------------------------- evidence


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
    """Per-video scores loaded once per path (many claims share rows), with a digest of their content."""

    def __init__(self):
        self._loaded = {}

    def __call__(self, path):
        key = str(bootstrap.npz_path(path))
        if key not in self._loaded:
            data = bootstrap.load(key)
            digest = hashlib.sha1()
            for name in ("video_ids", "labels", "scores"):
                digest.update(np.ascontiguousarray(data[name]).tobytes())
            self._loaded[key] = data | {"digest": digest.hexdigest()}
        return self._loaded[key]


def _loaded(row, scores):
    """A row's evaluations with each seed's scores loaded (an unreadable file is an error, not a verdict)."""
    return [[scores(path) for path in bootstrap.seed_list(evaluation["scores"])] for evaluation in row["evaluations"]]


def accuracy_pair(high, low, metric, scores, min_seeds=DEFAULT_MIN_SEEDS):
    """The evidence of one pair of reproduced rows on an accuracy metric."""
    pair = PairResult(high["label"], low["label"], NOT_COMPARABLE)
    if len(high["evaluations"]) != len(low["evaluations"]):
        pair.note = (f"{high['label']} averages {len(high['evaluations'])} evaluations, {low['label']} "
                     f"{len(low['evaluations'])}: not paired over the same videos")
        return pair
    high_data, low_data = _loaded(high, scores), _loaded(low, scores)
    pair.key = tuple((tuple(d["digest"] for d in h), tuple(d["digest"] for d in l))
                     for h, l in zip(high_data, low_data))
    try:
        values = bootstrap.paired_seed_values(high_data, low_data, metric)
    except bootstrap.ScoresFileError as err:
        if "video ids are not unique" in str(err):
            raise
        pair.note = f"not evaluated on the same videos ({err}); the rows cannot be paired"
        return pair
    interval = stats.seed_interval(values)
    pair.difference, pair.lo, pair.hi = interval["point"], interval["lo"], interval["hi"]
    pair.seeds, pair.videos, pair.p = interval["seeds"], interval["videos"], interval["p"]
    classes = high_data[0][0]["scores"].shape[1]
    trivial = metric == "top5" and classes <= results.TRIVIAL_TOP5_CLASSES
    if trivial:
        pair.note = f"with {classes} classes top-5 is 100 % by construction"
        pair.status = UNDECIDABLE
    elif all(high_digests == low_digests for high_digests, low_digests in pair.key):
        # By construction, not by chance: two trainings can agree on every video (both wrong on all of a tiny
        # validation set), and that is an interval of zero width, not an undecidable claim.
        pair.status = UNDECIDABLE
        pair.note = "; ".join(filter(None, [pair.note, "both rows read the very same scores for every seed (one "
                                                       "trained model): no difference can show"]))
    elif pair.seeds < min_seeds:
        pair.status = ONE_RUN
        if pair.seeds == 1 and metric != "mean_class_acc" and len(values) == 1:
            pair.mcnemar_p = stats.mcnemar_exact(int((values[0] > 0).sum()), int((values[0] < 0).sum()))
    else:
        pair.status = TESTED
    return pair


def gflops_pair(high, low):
    """One pair of a GFLOPs fact: exact, higher means more GFLOPs."""
    gh, gl = results.row_gflops(high), results.row_gflops(low)
    return PairResult(high["label"], low["label"], HOLDS if gh > gl else FAILS, difference=gh - gl)


def _lowest(pairs):
    return min(pairs, key=lambda pair: (pair.lo if pair.lo is not None else
                                        pair.difference if pair.difference is not None else np.inf))


def _summarise(result):
    """Set a claim's status, its p-value and direction (tested claims) and the pair that speaks for it."""
    pairs = result.pairs
    statuses = {pair.status for pair in pairs}
    if result.is_fact:
        result.status = NOT_RUN if NOT_RUN in statuses else FAILS if FAILS in statuses else HOLDS
        result.pair = _lowest([pair for pair in pairs if pair.status == result.status])
        return
    for status in _PRECEDENCE:
        if status in statuses:
            result.status = status
            result.pair = _lowest([pair for pair in pairs if pair.status == status])
            return
    result.status = TESTED
    reversed_pairs = [pair for pair in pairs if pair.difference <= 0]
    if not reversed_pairs:  # every pair must hold: the claim stands or falls with its weakest pair
        result.pair = max(pairs, key=lambda pair: pair.p)
        result.p, result.direction = result.pair.p, 1
    else:
        result.pair = min(reversed_pairs, key=lambda pair: pair.p)
        result.p = min(1.0, len(pairs) * result.pair.p)
        result.direction = -1 if result.pair.difference < 0 else 0


def evaluate_finding(plan, finding, scores=None):
    """The ClaimResult (evidence, no verdict yet) of one finding of a table plan."""
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
    min_seeds = plan.get("min_seeds", DEFAULT_MIN_SEEDS)
    pairs = []
    for high in high_rows:
        for low in low_rows:
            why = "; ".join(filter(None, (reasons[high["label"]], reasons[low["label"]])))
            if why:
                pairs.append(PairResult(high["label"], low["label"], NOT_RUN, note=why))
            elif metric == "gflops":
                pairs.append(gflops_pair(high, low))
            else:
                pairs.append(accuracy_pair(high, low, metric, scores, min_seeds))
    result = ClaimResult(table=plan["table"], claim=finding["claim"], metric=metric,
                         higher=labels(finding, "higher"), lower=labels(finding, "lower"), status="", pair=None,
                         group=group or "", note=finding.get("note", ""), pairs=pairs,
                         paper_gap=finding.get("paper_gap"), comparable=results.comparable(plan)["ok"])
    _summarise(result)
    return result


def evaluate_plan(plan, scores=None):
    """The ClaimResult of every finding of a table plan (Plan.table_plan), in the spec's order: evidence only,
    the verdicts come from `decide` over the whole page."""
    scores = scores or ScoresCache()
    return [evaluate_finding(plan, finding, scores) for finding in plan.get("findings", [])]


# ----------------------------------------------------------------------------------------------- verdicts


def _same_test_key(result):
    if result.is_fact or result.status in (NOT_RUN, NOT_COMPARABLE):
        return None
    return result.metric, tuple(sorted(pair.key for pair in result.pairs))


def decide(claims, alpha=ALPHA):
    """Set every claim's `verdict` (in place; returns them): repeated tests marked SAME_TEST, Holm's step-down
    over the remaining tested accuracy claims, the other statuses as they are."""
    first = {}
    for result in claims:
        key = _same_test_key(result)
        if key is not None and key in first:
            earlier = first[key]
            result.same_as = f"Table {earlier.table}: {earlier.claim[:60]}"
        elif key is not None:
            first[key] = result
    tested = [result for result in claims if result.status == TESTED and not result.same_as]
    for result, adjusted in zip(tested, stats.holm([result.p for result in tested])):
        result.p_holm = adjusted
        result.verdict = INCONCLUSIVE
        if adjusted < alpha and result.direction:
            result.verdict = REPRODUCED if result.direction > 0 else CONTRADICTED
    for result in claims:
        if result.same_as:
            result.verdict = SAME_TEST
        elif not result.verdict:
            result.verdict = result.status
    return claims


# ----------------------------------------------------------------------------------------------- text


def _signed(value, digits=1):
    return f"{value:+.{digits}f}"


def _p_text(value):
    return "" if value is None else f"{value:.2g}" if value >= 0.001 else "< 0.001"


def difference_text(result):
    """'+3.2 points [+1.1, +5.0]', '+12.4 GFLOPs (exact)', or '' when the pair was not measured."""
    pair = result.pair
    if pair is None or pair.difference is None:
        return ""
    if result.is_fact:
        return f"{_signed(pair.difference)} GFLOPs (exact)"
    return f"{_signed(pair.difference)} points [{_signed(pair.lo)}, {_signed(pair.hi)}]"


def pair_text(result):
    """'A > B' of the pair that speaks for the claim, with ' (of 3 pairs)' for several pairs."""
    if result.pair is None:
        return ""
    text = f"{result.pair.higher} > {result.pair.lower}"
    if len(result.pairs) > 1:
        text += f" (of {len(result.pairs)} pairs)"
    return text


def seeds_text(result):
    """'3 seeds', 'one run', or '' where nothing was measured."""
    seeds = result.pair.seeds if result.pair else None
    return "" if seeds is None else "one run" if seeds == 1 else f"{seeds} seeds"


def gap_text(result):
    """The paper's stated difference, and whether it lies inside this run's interval (where they compare)."""
    if result.paper_gap is None:
        return ""
    text = f"paper: {_signed(result.paper_gap)}"
    pair = result.pair
    if not result.comparable:
        return text + " (this run's accuracies do not compare with the paper's)"
    if pair is None or pair.lo is None or len(result.pairs) > 1:
        return text
    inside = pair.lo <= result.paper_gap <= pair.hi
    return text + (", inside the interval" if inside else ", outside the interval")


def _notes(result):
    return "; ".join(note for note in ((result.pair.note if result.pair else ""), result.note) if note)


def evidence_line(result):
    """One line for a table's Markdown and the log: the claim's evidence, without the page's verdict."""
    measured = difference_text(result)
    details = [METRIC_NAMES[result.metric] + (f", {pair_text(result)}" if result.pair else "")
               + (f": {measured}" if measured else "")]
    if result.is_fact:
        status = result.status
    else:
        details += [seeds_text(result)] if result.pair and result.pair.seeds else []
        if result.p is not None:
            details.append(f"p = {_p_text(result.p)} before the page's correction")
        if result.pair and result.pair.mcnemar_p is not None:
            details.append(f"McNemar exact p = {_p_text(result.pair.mcnemar_p)}")
        status = "verdict in claims.md" if result.status == TESTED else result.status
    details += [text for text in (gap_text(result), _notes(result)) if text]
    return f"{result.claim}: {status} ({'; '.join(details)})"


def counts(claims, verdicts):
    """{verdict: count} of `claims` over `verdicts`, every verdict present."""
    return {verdict: sum(result.verdict == verdict for result in claims) for verdict in verdicts}


def counts_line(claims):
    """'accuracy: 1 reproduced, ..., 2 not run; GFLOPs facts: 12 holds, 1 does not hold, 0 not run'."""
    accuracy = [result for result in claims if not result.is_fact]
    facts = [result for result in claims if result.is_fact]
    same = sum(result.verdict == SAME_TEST for result in accuracy)
    return ("accuracy: " + ", ".join(f"{n} {v}" for v, n in counts(accuracy, ACCURACY_VERDICTS).items())
            + (f" (+{same} same test as another)" if same else "")
            + "; GFLOPs facts: " + ", ".join(f"{n} {v}" for v, n in counts(facts, FACT_VERDICTS).items()))


def to_csv(claims):
    rows = []
    for result in claims:
        pair = result.pair or PairResult("", "", result.status)
        inside = ""
        if result.paper_gap is not None and result.comparable and pair.lo is not None and len(result.pairs) == 1:
            inside = str(pair.lo <= result.paper_gap <= pair.hi).lower()
        rows.append({
            "table": result.table, "group": result.group, "claim": result.claim, "metric": result.metric,
            "higher": "; ".join(result.higher), "lower": "; ".join(result.lower),
            "pair_higher": pair.higher, "pair_lower": pair.lower,
            "difference": decimals(pair.difference, 2), "lo": decimals(pair.lo, 2), "hi": decimals(pair.hi, 2),
            "verdict": result.verdict, "videos": "" if pair.videos is None else str(pair.videos),
            "note": _notes(result), "kind": "gflops fact" if result.is_fact else "accuracy",
            "seeds": "" if pair.seeds is None else str(pair.seeds), "p": decimals(result.p, 4),
            "p_holm": decimals(result.p_holm, 4), "mcnemar_p": decimals(pair.mcnemar_p, 4),
            "paper_gap": decimals(result.paper_gap, 2), "paper_gap_inside": inside, "same_as": result.same_as,
        })
    return csv_text(CSV_COLUMNS, rows)


def _table_name(result):
    return f"{result.table} ({result.group})" if result.group else str(result.table)


def to_markdown(plans, claims, alpha=ALPHA):
    """The claims page of `decide`d claims: counts, error control and method, then the accuracy claims and,
    apart, the GFLOPs facts."""
    accuracy = [result for result in claims if not result.is_fact]
    facts = [result for result in claims if result.is_fact]
    same = sum(result.verdict == SAME_TEST for result in accuracy)
    tested = [result for result in accuracy if result.p_holm is not None]
    min_seeds = sorted({plan.get("min_seeds", DEFAULT_MIN_SEEDS) for plan in plans}) or [DEFAULT_MIN_SEEDS]
    level = f"{100 * (1 - alpha):g} %"
    lines = ["# Claims of the paper, tested on this run", "",
             "**Accuracy claims ({} distinct tests): {}**{}.".format(
                 len(accuracy) - same,
                 ", ".join(f"{n} {v}" for v, n in counts(accuracy, ACCURACY_VERDICTS).items()),
                 f"; {same} more are the same test as another claim (listed, counted once)" if same else ""),
             "",
             "**GFLOPs facts ({}): {}**: properties of the paper's full-size models counted at the paper's "
             "convention, true whatever this run trained; listed apart below.".format(
                 len(facts), ", ".join(f"{n} {v}" for v, n in counts(facts, FACT_VERDICTS).items())),
             "",
             f"**Error control: Holm's step-down over the {len(tested)} accuracy claims that carry a verdict**, "
             f"at a family-wise error rate of {100 * alpha:g} %: the chance that any *reproduced* or "
             f"*contradicted* on this page is wrong is at most {100 * alpha:g} %. A claim of several pairs is "
             "reproduced only when every pair is (tested with the largest p-value of its pairs) and contradicted "
             "when a pair is reversed (the smallest p-value of its reversed pairs times its number of pairs).",
             "",
             f"**Verdicts need {' or '.join(map(str, min_seeds))} seeds or more.** Per seed, the difference of "
             "the two rows over the same validation videos (seed k of each row trained with seed k); the claim's "
             f"difference is their mean, with a {level} t interval (seeds - 1 degrees of freedom) whose variance "
             "adds the seeds' spread and the videos' (the validation set all seeds share). Claims on fewer seeds "
             "say **one run** and give no verdict word: one training says nothing of the recipe's noise; their "
             "interval holds the videos' noise alone, with McNemar's exact p-value for top-1 and top-5. Intervals "
             "and p-values are per claim, before the page's correction.",
             ""]
    not_comparable = [plan for plan in plans if not results.comparable(plan)["ok"]]
    if not_comparable:
        whys = sorted({results.comparable(plan).get("why") or "see the configuration" for plan in not_comparable})
        names = ", ".join(str(plan["table"]) for plan in not_comparable)
        scope = "This run's accuracies" if len(not_comparable) == len(plans) else f"The accuracies of tables {names}"
        lines += [f"**Verdicts are on this run's data.** {scope} do not stand beside the paper's "
                  f"({'; '.join(whys)}): a verdict says whether the paper's claim holds for these models and "
                  "videos, not whether the paper's numbers are reproduced; the paper's stated differences are "
                  "listed, not tested.", ""]
    header = ["Table", "Claim (the paper's words)", "Metric", "Rows", "Seeds", f"Difference [{level} interval]",
              "p (Holm)", "Verdict", "Paper's difference", "Note"]
    rows = []
    for result in accuracy:
        if result.p_holm is not None:
            p = f"{_p_text(result.p)} ({_p_text(result.p_holm)})"
        elif result.pair and result.pair.mcnemar_p is not None:
            p = f"McNemar {_p_text(result.pair.mcnemar_p)}"
        else:
            p = "–"
        verdict = f"same test as {result.same_as}" if result.same_as else f"**{result.verdict}**"
        rows.append([_table_name(result), result.claim, METRIC_NAMES[result.metric], pair_text(result),
                     seeds_text(result) or "–", difference_text(result) or "–", p, verdict, gap_text(result) or "–",
                     _notes(result)])
    lines += ["## Accuracy claims", "", *markdown_table(header, rows)]
    header = ["Table", "Claim (the paper's words)", "Rows", "Difference", "Fact", "Note"]
    rows = [[_table_name(result), result.claim, pair_text(result), difference_text(result) or "–",
             f"**{result.verdict}**", _notes(result)] for result in facts]
    lines += ["", "## GFLOPs facts", "", *markdown_table(header, rows)]
    return "\n".join(lines) + "\n"
