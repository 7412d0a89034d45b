"""A table row's reproduced numbers, computed once from its result files: top-1 and top-5 (the mean over seeds),
GFLOPs (summed over an ensemble's members and views), and each accuracy's 95 % interval.

The input is one row of a table plan (Plan.table_plan): its evaluations (the scores file of the experiment or
ensemble, or a list with one per training seed; the FLOPs file and view count of each member; several evaluations
for a row that averages dataset splits). The tables (ctnet.workflow.tables) print these numbers, the claims
(ctnet.workflow.claims) compare rows' GFLOPs with them.

Intervals (ctnet.workflow.stats): one run's top-1 and top-5 is a proportion of its videos, with its Wilson
interval; over several seeds, or averaged over splits, the seeds-and-videos t interval of `stats.seed_interval`.
Mean class accuracy keeps the bootstrap percentile interval of ctnet.workflow.bootstrap (no exact method); the
spread over seeds and the video count come from there too.
"""

from ctnet.workflow import bootstrap, stats
from ctnet.workflow.io import ConfigError, read_gflops, read_json

METRICS = ("top1", "top5", "gflops", "gflops_per_view")
# With this many classes or fewer every label is among the top 5: top-5 is 100 % by construction.
TRIVIAL_TOP5_CLASSES = 5
# How each metric's interval is made, for the tables' caption.
ONE_RUN_METHOD = "Wilson score interval over the videos"
SEEDS_METHOD = "t interval over seeds and videos"


def _finite(path, scores, key):
    value = scores.get(key)
    if value is None:
        raise ConfigError(f"{path}: no {key!r}; rerun the test/fuse rule that writes it")
    value = float(value)
    if value != value:
        raise ConfigError(f"{path}: {key} is NaN; rerun the test/fuse rule that writes it (a diverged model?)")
    return value


def evaluate(evaluation):
    """top1, top5 (the mean over seeds) and GFLOPs (summed over the members' views) of one evaluation of a row."""
    accuracy = {"top1": [], "top5": []}
    for path in bootstrap.seed_list(evaluation["scores"]):
        scores = read_json(path)
        for key, values in accuracy.items():
            values.append(_finite(path, scores, key))
    per_view = []
    for member in evaluation["members"]:
        per_view.append((read_gflops(member["flops"]), member["views"]))
    return {
        **{key: sum(values) / len(values) for key, values in accuracy.items()},
        "gflops": sum(gflops * views for gflops, views in per_view),
        "gflops_per_view": per_view[0][0] if len(per_view) == 1 else None,
    }


def row_gflops(row):
    """A row's reproduced GFLOPs as the table shows them: each evaluation's count averaged over evaluations."""
    values = [evaluate(evaluation)["gflops"] for evaluation in row["evaluations"]]
    return sum(values) / len(values)


def accuracy_intervals(evaluations):
    """bootstrap.row_intervals of a row's evaluations with top-1 and top-5 given their exact (one run) or
    seeds-and-videos interval; `method` says which."""
    # Each scores file read once: the bootstrap, the exact interval and the seeds' values all take loaded files.
    evaluations = [[bootstrap.load(path) for path in bootstrap.seed_list(scores)] for scores in evaluations]
    out = bootstrap.row_intervals(evaluations)
    single = out["seeds"] == 1 and len(evaluations) == 1
    for metric in ("top1", "top5"):
        if single:
            corr = bootstrap.correctness(evaluations[0][0])
            lo, hi = stats.wilson_interval(int(corr[metric].sum()), len(corr[metric]))
        else:
            interval = stats.seed_interval(bootstrap.seed_values(evaluations, metric))
            lo, hi = max(0.0, interval["lo"]), min(100.0, interval["hi"])
        out[metric] = (out[metric][0], lo, hi)
    out["method"] = ONE_RUN_METHOD if single else SEEDS_METHOD
    return out


def reproduce_row(row):
    """The reproduced numbers of one planned row: the mean over its evaluations (one, except for rows averaged
    over dataset splits) of top1/top5 and of the GFLOPs, and, under "intervals", `accuracy_intervals`."""
    if row["origin"] != "reproduced":
        return {key: None for key in METRICS} | {"intervals": None}
    results = [evaluate(evaluation) for evaluation in row["evaluations"]]
    mean = {}
    for key in METRICS:
        values = [result[key] for result in results]
        mean[key] = None if None in values else sum(values) / len(values)
    mean["intervals"] = accuracy_intervals([evaluation["scores"] for evaluation in row["evaluations"]])
    return mean


def comparable(plan):
    """The plan's `comparable` ({"ok": bool, "why": str}); plans written before it existed count as comparable."""
    return plan.get("comparable") or {"ok": True}
