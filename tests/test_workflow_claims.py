"""The paper's claims tested on a run (ctnet.workflow.claims, scripts/make_claims.py): verdicts from hand-made
per-video scores, multi-pair logic, GFLOPs claims, and the claims of config/tables/*.yaml against their rows."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from ctnet.engine.scores import save_scores
from ctnet.workflow import ConfigError, bootstrap, claims, stats
from ctnet.workflow.config import validate
from ctnet.workflow.findings import check_labels, find_row, labels, metric_of
from ctnet.workflow.tables import build_rows, write_table
from helpers import load_script

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT.parent / "shared/paper/ct-net-iclr2021.txt"  # beside the checkout, as on the project's machines
SPECS = sorted((ROOT / "config/tables").glob("*.yaml"))
N = 200


def write_scores(path, correct, classes=10, prefix="v", order=None):
    """A scores file of len(correct) videos (labels cycling over the classes): video i right at top-1 where
    correct[i], else its label scored last; stored in `order` (a permutation) when given. Returns the metrics
    JSON path, as plans name it."""
    n = len(correct)
    labels = np.arange(n) % classes
    scores = np.tile(np.arange(classes, 0, -1, dtype=np.float32), (n, 1))  # class 0 first, class C-1 last
    for i, label in enumerate(labels):
        ranking = np.roll(np.arange(classes), -label) if correct[i] else np.roll(np.arange(classes), -(label + 1))
        scores[i, ranking] = np.arange(classes, 0, -1)
    path = Path(path).with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    order = list(range(n)) if order is None else list(order)
    save_scores(path, [f"{prefix}{i:04d}" for i in order], labels[order], scores[order],
                [f"c{c}" for c in range(classes)], protocol="1x1", experiment=path.stem)
    return str(path.with_suffix(".json"))


def hits(first, last, n=N):
    """Right on videos first..last-1."""
    return [first <= i < last for i in range(n)]


def flops_file(path, gflops):
    Path(path).write_text(json.dumps({"gflops": gflops}))
    return str(path)


def row(label, scores, flops, views=1, group=None):
    scores = scores if isinstance(scores, list) else [scores]
    out = {"label": label, "origin": "reproduced", "protocol": "1x1", "paper": {},
           "evaluations": [{"scores": s, "members": [{"experiment": label, "protocol": "1x1", "views": views,
                                                       "flops": flops}]} for s in scores]}
    return out | ({"group": group} if group else {})


def plan_of(rows, findings, comparable=None, table="t"):
    return {"table": table, "title": f"Table {table}", "config": "config/x.yaml", "description": "",
            "comparable": comparable or {"ok": True}, "findings": findings, "rows": rows}


@pytest.fixture
def files(tmp_path):
    """Scores of four rows over the same 200 videos: A 90 %, B 50 %, C 60 % (B's videos and more), D near A."""
    flops = flops_file(tmp_path / "f.json", 10.0)
    return {
        "A": write_scores(tmp_path / "a.json", hits(0, 180)),
        "B": write_scores(tmp_path / "b.json", hits(0, 100)),
        "C": write_scores(tmp_path / "c.json", hits(0, 120)),
        "D": write_scores(tmp_path / "d.json", hits(21, 200)),  # 179 right, not the same videos as A
        "flops": flops,
    }


def verdict(plan, index=0):
    return claims.decide(claims.evaluate_plan(plan))[index]


def seeded_row(label, seed_paths, flops):
    """A reproduced row trained once per seed (one scores file each)."""
    return {"label": label, "origin": "reproduced", "protocol": "1x1", "paper": {},
            "evaluations": [{"scores": list(seed_paths),
                             "members": [{"experiment": label, "protocol": "1x1", "views": 1, "flops": flops}]}]}


@pytest.fixture
def seeds(tmp_path):
    """Rows of three seeds over the same 200 videos: H about 90 %, L about 50 %, M about 89.5 % (H's neighbour)."""
    def three(name, spans):
        return [write_scores(tmp_path / f"{name}{k}.json", hits(*span)) for k, span in enumerate(spans)]
    return {"H": three("h", [(0, 180), (0, 176), (0, 184)]), "L": three("l", [(0, 100), (0, 96), (0, 104)]),
            "M": three("m", [(3, 182), (0, 181), (0, 177)]), "flops": flops_file(tmp_path / "f.json", 10.0)}


def seeded_plan(seeds, findings, **extra):
    return plan_of([seeded_row(label, seeds[label], seeds["flops"]) for label in "HLM"], findings, **extra)


# ----------------------------------------------------------------------------------------------- verdicts


def test_three_seeds_give_a_verdict(seeds):
    plan = seeded_plan(seeds, [{"claim": "H beats L", "higher": "H", "lower": "L"},
                               {"claim": "L beats H", "higher": "L", "lower": "H"},
                               {"claim": "H beats M", "higher": "H", "lower": "M"}])
    results = claims.decide(claims.evaluate_plan(plan))
    assert [result.verdict for result in results] == ["reproduced", "contradicted", "inconclusive"]
    pair = results[0].pair
    assert pair.seeds == 3 and pair.videos == N and pair.difference == pytest.approx(40.0)
    assert 0 < pair.lo < 40 < pair.hi
    # the interval is stats.seed_interval of the per-seed paired differences
    values = bootstrap.paired_seed_values([[*map(bootstrap.load, seeds["H"])]], [[*map(bootstrap.load, seeds["L"])]],
                                          "top1")
    expected = stats.seed_interval(values)
    assert (pair.lo, pair.hi, pair.p) == pytest.approx((expected["lo"], expected["hi"], expected["p"]))
    # Holm over the three tested claims: the two smallest p-values (equal) times 3
    assert results[0].p_holm == pytest.approx(min(1, 3 * results[0].p))
    assert "+40.0 points [" in claims.evidence_line(results[0]) and "3 seeds" in claims.evidence_line(results[0])


def test_one_run_gives_no_verdict_word(files):
    plan = plan_of([row("A", files["A"], files["flops"]), row("B", files["B"], files["flops"])],
                   [{"claim": "A beats B", "higher": "A", "lower": "B"}])
    result = verdict(plan)
    assert result.verdict == "one run" and result.p_holm is None
    assert result.pair.difference == pytest.approx(40.0) and result.pair.lo > 0
    assert result.pair.mcnemar_p == pytest.approx(stats.mcnemar_exact(80, 0))
    # fewer seeds than min_seeds: no verdict either; the plan's min_seeds decides
    assert verdict(plan | {"min_seeds": 1}).verdict == "reproduced"


def test_four_discordant_videos_are_not_a_verdict(tmp_path):
    """The issue's case: the bootstrap said reproduced (+5.0 [+1.25, +11.25]), McNemar's exact test p = 0.125."""
    flops = flops_file(tmp_path / "f.json", 1.0)
    a = write_scores(tmp_path / "a.json", hits(0, 44, n=80))
    b = write_scores(tmp_path / "b.json", hits(0, 40, n=80))
    result = verdict(plan_of([row("A", a, flops), row("B", b, flops)],
                             [{"claim": "A beats B", "higher": "A", "lower": "B"}]))
    assert result.verdict == "one run" and result.pair.mcnemar_p == pytest.approx(0.125)


def test_unreproduced_or_missing_rows_are_not_run(files, tmp_path):
    quoted = {"label": "Q", "origin": "quoted", "paper": {"top1": 50.0}}
    skipped = {"label": "S", "origin": "not run", "paper": {}, "note": "skipped in this configuration"}
    gone = write_scores(tmp_path / "gone.json", hits(0, 150))
    Path(gone).with_suffix(".npz").unlink()
    rows = [row("A", files["A"], files["flops"]), quoted, skipped, row("G", gone, files["flops"])]
    findings = [{"claim": f"A beats {label}", "higher": "A", "lower": label} for label in ("Q", "S", "G")]
    results = claims.decide(claims.evaluate_plan(plan_of(rows, findings)))
    assert [result.verdict for result in results] == ["not run"] * 3
    assert "Q: quoted from the paper" in results[0].pair.note
    assert "S: not run in this configuration" in results[1].pair.note
    assert "gone.npz is missing" in results[2].pair.note
    assert results[0].pair.difference is None and claims.difference_text(results[0]) == ""
    # a missing FLOPs count (a seed > 0 run's, say) is not run too, not a crash
    missing_flops = row("M", files["B"], str(tmp_path / "none.json"))
    gflops = verdict(plan_of([row("A", files["A"], files["flops"]), missing_flops],
                             [{"claim": "M costs more", "metric": "gflops", "higher": "M", "lower": "A"}]))
    assert gflops.verdict == "not run" and "none.json is missing" in gflops.pair.note


def test_rows_over_other_videos_are_not_comparable(files, tmp_path):
    other = write_scores(tmp_path / "w.json", hits(0, 20), prefix="w")
    plan = plan_of([row("A", files["A"], files["flops"]), row("W", other, files["flops"])],
                   [{"claim": "A beats W", "higher": "A", "lower": "W"}])
    result = verdict(plan)
    assert result.verdict == "not comparable" and result.pair.difference is None
    assert "not evaluated on the same videos" in result.pair.note and "w.npz" in result.pair.note
    mixed = plan_of([row("A", [files["A"], files["C"]], files["flops"]), row("B", files["B"], files["flops"])],
                    [{"claim": "A beats B", "higher": "A", "lower": "B"}])
    assert verdict(mixed).verdict == "not comparable" and "averages 2 evaluations" in verdict(mixed).pair.note


def test_nan_scores_are_refused_naming_the_file(files, tmp_path):
    path = Path(write_scores(tmp_path / "nan.json", hits(0, 150))).with_suffix(".npz")
    data = dict(np.load(path, allow_pickle=False))
    data["scores"] = np.full_like(data["scores"], np.nan)
    np.savez(path, **data)
    plan = plan_of([row("A", files["A"], files["flops"]), row("X", str(path.with_suffix(".json")), files["flops"])],
                   [{"claim": "A beats X", "higher": "A", "lower": "X"}])
    with pytest.raises(ConfigError, match=r"nan.npz: 200 of 200 videos have NaN or infinite scores"):
        claims.evaluate_plan(plan)


def test_mean_over_splits_averages_the_paired_difference_of_each_split(files, tmp_path):
    h2 = write_scores(tmp_path / "h2.json", hits(0, 150, n=100), prefix="s2_")
    l2 = write_scores(tmp_path / "l2.json", hits(0, 40, n=100), prefix="s2_")
    plan = plan_of([row("H", [files["A"], h2], files["flops"]), row("L", [files["B"], l2], files["flops"])],
                   [{"claim": "H beats L", "higher": "H", "lower": "L"}])
    result = verdict(plan)
    assert result.verdict == "one run" and result.pair.videos == N + 100
    assert result.pair.difference == pytest.approx((40.0 + 60.0) / 2)
    assert result.pair.lo < 50.0 < result.pair.hi
    # splits over the very same videos (in any order) count each video once: two copies of one split give its
    # own interval
    shuffled = np.random.default_rng(0).permutation(N)
    a2 = write_scores(tmp_path / "a2.json", hits(0, 180), order=shuffled)
    c2 = write_scores(tmp_path / "c2.json", hits(0, 120), order=shuffled[::-1])
    same = plan_of([row("H", [files["A"], a2], files["flops"]), row("L", [files["C"], c2], files["flops"])],
                   [{"claim": "H beats L", "higher": "H", "lower": "L"}])
    single = plan_of([row("H", files["A"], files["flops"]), row("L", files["C"], files["flops"])],
                     [{"claim": "H beats L", "higher": "H", "lower": "L"}])
    pair, alone = verdict(same).pair, verdict(single).pair
    assert (pair.difference, pair.lo, pair.hi) == pytest.approx((alone.difference, alone.lo, alone.hi))


def test_gflops_facts_are_exact_and_apart(files, tmp_path):
    big = flops_file(tmp_path / "big.json", 36.3)
    small = flops_file(tmp_path / "small.json", 36.2)
    rows = [row("CT", files["A"], small), row("R21", files["B"], big), row("Same", files["C"], small),
            row("EN", files["D"], small, views=2)]
    findings = [
        {"claim": "R21 costs more", "metric": "gflops", "higher": "R21", "lower": "CT"},
        {"claim": "CT costs more", "metric": "gflops", "higher": "CT", "lower": "R21"},
        {"claim": "Same costs more", "metric": "gflops", "higher": "Same", "lower": "CT"},
        {"claim": "EN costs more", "metric": "gflops", "higher": "EN", "lower": "R21"},
    ]
    results = claims.decide(claims.evaluate_plan(plan_of(rows, findings)))
    assert [result.verdict for result in results] == ["holds", "does not hold", "does not hold", "holds"]
    assert all(result.is_fact and result.p_holm is None for result in results)
    assert results[0].pair.difference == pytest.approx(0.1) and results[0].pair.lo is None
    assert results[3].pair.difference == pytest.approx(2 * 36.2 - 36.3)  # the views count, as in the table
    assert claims.difference_text(results[0]) == "+0.1 GFLOPs (exact)"


def test_several_pairs_hold_only_if_every_pair_does(seeds, tmp_path):
    rows = [seeded_row(label, seeds[label], seeds["flops"]) for label in "HLM"] + [
        {"label": "Q", "origin": "quoted", "paper": {}}]
    findings = [
        {"claim": "all hold", "higher": "H", "lower": ["L"]},
        {"claim": "one too close", "higher": "H", "lower": ["L", "M"]},
        {"claim": "one reversed", "higher": ["H", "L"], "lower": ["M"]},
        {"claim": "one not run", "higher": "H", "lower": ["L", "Q"]},
    ]
    results = claims.decide(claims.evaluate_plan(plan_of(rows, findings)))
    assert [result.verdict for result in results] == ["reproduced", "inconclusive", "contradicted", "not run"]
    assert results[1].pair.lower == "M" and results[1].p == max(pair.p for pair in results[1].pairs)
    third = results[2]
    assert (third.pair.higher, third.pair.lower) == ("L", "M") and third.pair.hi < 0 and len(third.pairs) == 2
    assert third.p == pytest.approx(min(1, 2 * third.pair.p))  # Bonferroni within the claim
    assert "(of 2 pairs)" in claims.pair_text(third)


def test_same_scores_are_the_same_test_and_one_model_is_undecidable(seeds, tmp_path):
    rows = [seeded_row(label, seeds[label], seeds["flops"]) for label in "HL"]
    rows.append(seeded_row("H2", seeds["H"], seeds["flops"]))  # another label, the very same training
    first = plan_of(rows, [{"claim": "H beats L", "higher": "H", "lower": "L"}], table="2a")
    second = plan_of(rows, [{"claim": "H2 beats L", "higher": "H2", "lower": "L"},
                            {"claim": "H2 beats H", "higher": "H2", "lower": "H"}], table="7")
    results = claims.decide(claims.evaluate_plan(first) + claims.evaluate_plan(second))
    assert [result.verdict for result in results] == ["reproduced", "same test", "undecidable"]
    assert results[1].same_as == "Table 2a: H beats L" and results[1].p_holm is None
    assert "one trained model" in results[2].pair.note
    markdown = claims.to_markdown([first, second], results)
    assert "Holm's step-down over the 1 accuracy claims that carry a verdict" in markdown
    assert "1 more are the same test as another claim" in markdown
    assert "same test as Table 2a: H beats L" in markdown


def test_paper_gap_against_the_interval(seeds):
    findings = [{"claim": "H beats L by 40", "higher": "H", "lower": "L", "paper_gap": 40.0},
                {"claim": "H beats L by 0.4", "higher": "H", "lower": "L", "paper_gap": 0.4}]
    results = claims.decide(claims.evaluate_plan(seeded_plan(seeds, findings)))
    assert claims.gap_text(results[0]) == "paper: +40.0, inside the interval"
    assert claims.gap_text(results[1]) == "paper: +0.4, outside the interval"
    synthetic = claims.evaluate_plan(seeded_plan(seeds, findings, comparable={"ok": False, "why": "synthetic"}))
    assert "do not compare with the paper's" in claims.gap_text(synthetic[0])


def test_unknown_or_repeated_labels_are_one_line(files):
    rows = [row("A", files["A"], files["flops"], group="g1"), row("A", files["B"], files["flops"], group="g2")]
    with pytest.raises(ConfigError, match=r"2 rows are labelled 'A'; add `group:`"):
        claims.evaluate_plan(plan_of(rows, [{"claim": "c", "higher": "A", "lower": "B"}]))
    spec = {"rows": rows, "findings": [{"claim": "c", "group": "g1", "higher": "A", "lower": "Z"}]}
    with pytest.raises(ConfigError, match=r"t.yaml: findings\[0\] \(c\): lower: no row labelled 'Z' in group 'g1'"):
        check_labels(spec, "t.yaml")
    spec["findings"] = [{"claim": "c", "group": "g1", "higher": ["A"], "lower": "A"}]
    with pytest.raises(ConfigError, match="both higher and lower"):
        check_labels(spec, "t.yaml")


def test_two_trainings_that_agree_on_every_video_are_not_undecidable(tmp_path):
    """Two trainings both wrong on every video of a tiny validation set (the rehearsal's) agree by chance: a
    zero-width interval of one run, not the undecidable of one model against itself."""
    flops = flops_file(tmp_path / "f.json", 1.0)
    a = write_scores(tmp_path / "a.json", hits(0, 0, n=3), classes=174)
    b = write_scores(tmp_path / "b.json", hits(0, 0, n=3), classes=174, order=[2, 0, 1])  # other files, alike
    result = verdict(plan_of([row("A", a, flops), row("B", b, flops)], [{"claim": "A beats B", "higher": "A",
                                                                           "lower": "B"}]))
    assert result.verdict == "one run" and (result.pair.lo, result.pair.hi) == (0.0, 0.0)


def test_top5_with_few_classes_says_why(tmp_path):
    flops = flops_file(tmp_path / "f.json", 1.0)
    a = write_scores(tmp_path / "a.json", hits(0, 180), classes=5)
    b = write_scores(tmp_path / "b.json", hits(0, 100), classes=5)
    plan = plan_of([row("A", a, flops), row("B", b, flops)],
                   [{"claim": "A beats B", "higher": "A", "lower": "B", "metric": "top5"}])
    result = verdict(plan)
    assert result.verdict == "undecidable" and "top-5 is 100 % by construction" in result.pair.note


# ----------------------------------------------------------------------------------------------- the specs


def _specs():
    return [(path, yaml.safe_load(path.read_text())) for path in SPECS]


def test_every_claim_names_rows_of_its_table():
    total = 0
    for path, spec in _specs():
        rel = f"config/tables/{path.name}"
        validate(spec, "table.schema.json", rel, ROOT)
        check_labels(spec, rel)
        for finding in spec.get("findings", []):
            for side in ("higher", "lower"):
                for label in labels(finding, side):
                    assert find_row(spec["rows"], label, finding.get("group"))["label"] == label
            assert metric_of(finding) in claims.METRICS
        total += len(spec.get("findings", []))
    assert total >= 60


def test_every_claim_has_a_verdict_on_a_plan_of_its_spec():
    """The plans of the workflow carry the spec's rows: each claim evaluates (here every row not run)."""
    for _, spec in _specs():
        rows = [{"label": r["label"], "group": r.get("group"), "origin": "not run", "paper": {}} for r in spec["rows"]]
        results = claims.decide(claims.evaluate_plan(plan_of(rows, spec.get("findings", []), table=spec["table"])))
        assert all(result.verdict == "not run" for result in results)


@pytest.mark.skipif(not PAPER.is_file(), reason="the paper's text is not beside the checkout")
def test_every_claim_quotes_the_paper():
    paper = " ".join(PAPER.read_text().split())
    for path, spec in _specs():
        for finding in spec.get("findings", []):
            for part in finding["claim"].split("..."):
                part = " ".join(part.split())
                assert not part or part in paper, f"{path.name}: {part!r} is not the paper's words"


# ----------------------------------------------------------------------------------------------- outputs


def test_table_markdown_lists_the_claims_evidence(files, tmp_path):
    plan = plan_of([row("A", files["A"], files["flops"]), row("B", files["B"], files["flops"]),
                    {"label": "Q", "origin": "quoted", "paper": {"top1": 40.0}}],
                   [{"claim": "A beats B", "higher": "A", "lower": "B"},
                    {"claim": "A beats Q", "higher": "A", "lower": "Q"}])
    evidence = claims.evaluate_plan(plan)
    write_table(plan, build_rows(plan), evidence, tmp_path / "t.csv", tmp_path / "t.md")
    markdown = (tmp_path / "t.md").read_text()
    for result in evidence:
        assert f"- {claims.evidence_line(result)}\n" in markdown
    assert "- A beats B: one run (top-1, A > B: +40.0 points [" in markdown and "McNemar exact p" in markdown
    assert "- A beats Q: not run" in markdown and "verdicts, under one error control" in markdown


def test_make_claims_writes_the_counts_and_one_row_per_claim(seeds, files, tmp_path, capsys):
    rows = [seeded_row(label, seeds[label], seeds["flops"]) for label in "HL"] + [
        row("A", files["A"], files["flops"]), row("B", files["B"], files["flops"]),
        {"label": "Q", "origin": "quoted", "paper": {}}]
    first = plan_of(rows, [{"claim": "H beats L", "higher": "H", "lower": "L"},
                           {"claim": "A | B", "higher": "A", "lower": "B"}], table="2x")
    second = plan_of(rows, [{"claim": "A beats Q", "higher": "A", "lower": "Q", "note": "Q is quoted"},
                            {"claim": "B costs more", "higher": "B", "lower": "A", "metric": "gflops"}],
                     comparable={"ok": False, "why": "the videos are synthetic"}, table="2y")
    paths = []
    for plan in (first, second):
        paths.append(tmp_path / f"plans/{plan['table']}.json")
        paths[-1].parent.mkdir(exist_ok=True)
        paths[-1].write_text(json.dumps(plan))
    make_claims = load_script("make_claims")
    out_csv, out_md = tmp_path / "out/claims.csv", tmp_path / "out/claims.md"
    assert make_claims.main(["--plans", *map(str, paths), "--csv", str(out_csv), "--md", str(out_md)]) == 0
    markdown = out_md.read_text()
    assert ("**Accuracy claims (3 distinct tests): 1 reproduced, 0 contradicted, 0 inconclusive, 1 one run, "
            "0 undecidable, 0 not comparable, 1 not run**.") in markdown
    assert "**GFLOPs facts (1): 0 holds, 1 does not hold, 0 not run**" in markdown
    assert "Holm's step-down over the 1 accuracy claims" in markdown and "family-wise error rate of 5 %" in markdown
    assert markdown.count("Verdicts are on this run's data") == 1 and "tables 2y do not" in markdown
    assert re.search(r"\| 2x \| H beats L \| top-1 \| H > L \| 3 seeds \| \+40\.0 points \[\+\d+\.\d, \+\d+\.\d\] \| "
                     r"\S+ \(\S+\) \| \*\*reproduced\*\* \|", markdown)
    assert "| 2x | A \\| B |" in markdown  # a '|' in a claim does not break the table
    assert "| 2y | A beats Q | top-1 | A > Q | – | – | – | **not run** | – | Q: quoted from the paper; Q is quoted |" \
        in markdown
    facts = markdown[markdown.index("## GFLOPs facts"):]
    assert "| 2y | B costs more | B > A | +0.0 GFLOPs (exact) | **does not hold** |" in facts
    with open(out_csv, newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == claims.CSV_COLUMNS
        table = list(reader)
    assert [r["verdict"] for r in table] == ["reproduced", "one run", "not run", "does not hold"]
    assert table[0]["difference"] == "40.00" and float(table[0]["lo"]) > 0 and table[0]["seeds"] == "3"
    assert table[1]["mcnemar_p"] and table[3]["kind"] == "gflops fact"
    assert "4 claims from 2 tables: accuracy: 1 reproduced" in capsys.readouterr().out
    # a comparable run has no caveat; a bad plan is one line and exit status 2, nothing written
    paths[1].write_text(json.dumps(second | {"comparable": {"ok": True}}))
    make_claims.main(["--plans", *map(str, paths), "--csv", str(out_csv), "--md", str(out_md)])
    assert "this run's data" not in out_md.read_text()
    with pytest.raises(SystemExit) as err:
        make_claims.main(["--plans", str(tmp_path / "none.json"), "--csv", str(tmp_path / "x.csv"),
                          "--md", str(tmp_path / "x.md")])
    assert err.value.code == 2 and not (tmp_path / "x.md").exists()
    assert "none.json: file not found" in capsys.readouterr().err


def test_unreadable_scores_are_an_error_not_a_verdict(files, tmp_path):
    broken = write_scores(tmp_path / "broken.json", hits(0, 150))
    Path(broken).with_suffix(".npz").write_bytes(b"not a zip")
    plan = plan_of([row("A", files["A"], files["flops"]), row("X", broken, files["flops"])],
                   [{"claim": "A beats X", "higher": "A", "lower": "X"}])
    with pytest.raises(ConfigError, match="broken.npz: not a readable scores file"):
        claims.evaluate_plan(plan)


def test_a_run_not_comparable_throughout_says_so_once(files):
    plan = plan_of([row("A", files["A"], files["flops"]), row("B", files["B"], files["flops"])],
                   [{"claim": "A beats B", "higher": "A", "lower": "B"}], comparable={"ok": False, "why": "scaled"})
    markdown = claims.to_markdown([plan, plan | {"table": "u"}], claims.decide(claims.evaluate_plan(plan) * 2))
    assert markdown.count("**Verdicts are on this run's data.** This run's accuracies do not stand beside the "
                          "paper's (scaled)") == 1
