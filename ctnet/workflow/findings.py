"""The `findings:` of a table spec (config/tables/<table>.yaml, schema workflow/schemas/table.schema.json): which
rows each comparative claim of the paper names, checked when the specs load (ctnet.workflow.config) and looked up
when the claims are tested (ctnet.workflow.claims). Spec data only: nothing here reads a result file.

`claim` quotes the paper's sentence, `higher` and `lower` name a row label or a list of them (every pair higher
x lower must hold), `group` picks the rows of one group where labels repeat across groups, `metric` is top1
(default), top5, mean_class_acc or gflops, `paper_gap` the difference the paper states (points, higher minus
lower), `note` what the test leaves out.
"""

from ctnet.workflow.io import ConfigError

DEFAULT_METRIC = "top1"
# Seeds both rows of an accuracy comparison need before the claims page gives it a verdict (the configuration's
# `verdict_min_seeds:`, carried by each table plan).
DEFAULT_MIN_SEEDS = 3


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
