"""Tables that say how sure they are: bootstrap intervals over validation videos (ctnet.workflow.bootstrap), the
interval columns and brackets of make_table.py's outputs, tables that do not compare with the paper, error bars,
Fig. 5's two panels."""

import csv
import importlib.util
import itertools
import json
import re
from pathlib import Path

import matplotlib.collections
import matplotlib.text
import numpy as np
import pytest
import yaml

from ctnet.engine.scores import save_scores
from ctnet.workflow import ConfigError, bootstrap, claims
from ctnet.workflow.bootstrap import ScoresFileError, paired_difference, row_intervals
from ctnet.workflow import stats
from ctnet.workflow.plots import error_bar, read_table_csv
from ctnet.workflow.tables import COLUMNS, INTERVAL_COLUMNS, build_rows
from ctnet.workflow.tables import write_table as write_outputs

ROOT = Path(__file__).resolve().parents[1]
OLD_COLUMNS = [
    "table", "row", "group", "source", "experiment", "protocol", "views",
    "top1", "top5", "gflops", "gflops_per_view",
    "paper_top1", "paper_top5", "paper_gflops", "paper_gflops_per_view",
    "diff_top1", "diff_top5", "paper_certainty", "note",
]
WHY = "the videos are synthetic (sources: synthetic), not the paper's datasets"


def write_scores(path, n, hits1, hits5=None, classes=10, prefix="v", order=None):
    """A scores file of n videos (labels cycling over the classes): the first `hits1` right at top-1, the next up
    to `hits5` with the label third, the rest with the label last. Returns the metrics JSON path, as plans name it."""
    hits5 = hits1 if hits5 is None else hits5
    ids = [f"{prefix}{i:04d}" for i in range(n)]
    labels = [i % classes for i in range(n)]
    scores = np.zeros((n, classes), dtype=np.float32)
    for i, label in enumerate(labels):
        rank = 0 if i < hits1 else (2 if i < hits5 else classes - 1)
        others = [c for c in range(classes) if c != label]
        ranking = others[:rank] + [label] + others[rank:]
        scores[i, ranking] = np.arange(classes, 0, -1)
    order = range(n) if order is None else order
    path = Path(path).with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_scores(path, [ids[i] for i in order], [labels[i] for i in order], scores[list(order)],
                [f"c{c}" for c in range(classes)], protocol="1x1", experiment=path.stem)
    return str(path.with_suffix(".json"))


def write_table(plan, csv_path, md_path):
    """What make_table.py does: each row's numbers and each claim's evidence computed once, then written."""
    write_outputs(plan, build_rows(plan), claims.evaluate_plan(plan), csv_path, md_path)


def flops_file(path, gflops=10.0):
    Path(path).write_text(json.dumps({"gflops": gflops}))
    return str(path)


def reproduced(label, scores, flops, paper=None, **extra):
    scores = scores if isinstance(scores, list) else [scores]
    return {"label": label, "origin": "reproduced", "protocol": "1x1", "paper": paper or {}, **extra,
            "evaluations": [{"scores": s, "members": [{"experiment": label, "protocol": "1x1", "views": 1,
                                                        "flops": flops}]} for s in scores]}


def table_plan(rows, comparable):
    return {"table": "t", "title": "Test table", "config": "config/x.yaml", "description": "",
            "comparable": comparable, "findings": [], "rows": rows}


def load_script(name):
    """A script of scripts/ as a module, to call its functions."""
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), ROOT / "scripts" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_csv(path):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, {row["row"]: row for row in reader}


# ----------------------------------------------------------------------------------------------- bootstrap


def test_interval_contains_the_point_estimate(tmp_path):
    path = write_scores(tmp_path / "a.json", n=40, hits1=26, hits5=34)
    result = row_intervals([path])
    assert result["num_videos"] == 40 and result["num_classes"] == 10
    assert result["top1"][0] == pytest.approx(65.0) and result["top5"][0] == pytest.approx(85.0)
    reported = json.loads(Path(path).read_text())
    for metric in bootstrap.METRICS:
        point, lo, hi = result[metric]
        assert point == pytest.approx(reported[metric])  # the same numbers as the scores' JSON
        assert lo < point < hi, metric


def test_all_correct_gives_a_point_interval(tmp_path):
    result = row_intervals([write_scores(tmp_path / "a.json", n=30, hits1=30)])
    for metric in bootstrap.METRICS:
        assert result[metric] == (100.0, 100.0, 100.0)
    result = row_intervals([write_scores(tmp_path / "b.json", n=30, hits1=0, hits5=0)])
    assert result["top1"] == (0.0, 0.0, 0.0) and result["mean_class_acc"] == (0.0, 0.0, 0.0)


def test_interval_widens_as_videos_shrink(tmp_path):
    widths = []
    for n in (2000, 200, 20):
        _, lo, hi = row_intervals([write_scores(tmp_path / f"n{n}.json", n=n, hits1=n * 3 // 4)])["top1"]
        widths.append(hi - lo)
    assert widths[0] < widths[1] < widths[2]
    assert 2.5 < widths[0] < 5.0  # about 2 x 1.96 x sqrt(0.75 x 0.25 / 2000) = 3.8 points


def test_bootstrap_is_reproducible(tmp_path):
    path = write_scores(tmp_path / "a.json", n=50, hits1=31, hits5=44)
    first = row_intervals([path])
    bootstrap.split_resample_indices.cache_clear()
    assert row_intervals([path]) == first  # same seed, same numbers, cache or not
    expected = np.random.default_rng(bootstrap.SEED).integers(0, 50, size=(bootstrap.RESAMPLES, 50), dtype=np.int32)
    np.testing.assert_array_equal(bootstrap.resample_indices(50), expected)
    assert row_intervals([path], seed=1)["top1"][1:] != first["top1"][1:]


def test_bootstrap_interval_takes_values_or_a_statistic():
    values = (np.arange(60) % 3 == 0).astype(float)
    by_values = bootstrap.bootstrap_interval(values)
    by_function = bootstrap.bootstrap_interval(lambda idx: values[idx].mean(axis=1), n=60)
    assert by_values == by_function and by_values[0] < 1 / 3 < by_values[1]
    with pytest.raises(ValueError, match="give n"):
        bootstrap.bootstrap_interval(lambda idx: idx.mean(axis=1))


def test_mean_class_accuracy_per_resample_from_counts(tmp_path):
    corr = bootstrap.correctness(write_scores(tmp_path / "a.json", n=24, hits1=10, classes=4))
    indices = bootstrap.resample_indices(24)[:50]
    fast = bootstrap.resampled_mean_class(corr["top1"], corr["labels"], 4, indices)
    for row, value in zip(indices, fast):
        labels, right = corr["labels"][row], corr["top1"][row]
        recalls = [right[labels == c].mean() for c in range(4) if (labels == c).any()]
        assert value == pytest.approx(100 * np.mean(recalls))


def test_mean_over_resamples_each_split(tmp_path):
    split1 = write_scores(tmp_path / "s1.json", n=40, hits1=40, prefix="a")   # all right: a constant
    split2 = write_scores(tmp_path / "s2.json", n=40, hits1=20, prefix="b")   # other videos, half right
    result = row_intervals([split1, split2])
    assert result["top1"][0] == pytest.approx(75.0) and result["num_videos"] == 80
    first, second = bootstrap.split_resample_indices((40, 40))
    assert not np.array_equal(first, second)  # each split drawn on its own
    np.testing.assert_array_equal(first, bootstrap.resample_indices(40))
    right = bootstrap.correctness(split2)["top1"]
    expected = bootstrap.percentile_interval((100.0 + 100.0 * right[second].mean(axis=1)) / 2)
    assert result["top1"][1:] == pytest.approx(expected)
    # Splits over the very same videos (one synthetic split standing for three) are resampled together:
    same = write_scores(tmp_path / "same.json", n=40, hits1=20, prefix="b", order=list(range(39, -1, -1)))
    together = row_intervals([split2, same, split2])
    assert together["num_videos"] == 40 and together["top1"] == row_intervals([split2])["top1"]


def test_paired_difference_of_identical_files_is_exactly_zero(tmp_path):
    a = write_scores(tmp_path / "a.json", n=60, hits1=37, hits5=50)
    shuffled = write_scores(tmp_path / "b.json", n=60, hits1=37, hits5=50,
                            order=np.random.default_rng(3).permutation(60).tolist())
    result = paired_difference(a, shuffled)  # aligned by video id
    assert result["num_videos"] == 60
    for metric in bootstrap.METRICS:
        assert result[metric] == (0.0, 0.0, 0.0)


def test_paired_difference_uses_the_same_resamples_for_both(tmp_path):
    a = write_scores(tmp_path / "a.json", n=60, hits1=45)
    b = write_scores(tmp_path / "b.json", n=60, hits1=30, order=list(range(59, -1, -1)))
    diff, lo, hi = paired_difference(a, b)["top1"]
    assert diff == pytest.approx(25.0) and lo < diff < hi
    ca, cb = bootstrap.correctness(a), bootstrap.correctness(b)
    cb_aligned = cb["top1"][::-1]  # b lists the same videos backwards
    indices = bootstrap.resample_indices(60)
    expected = bootstrap.percentile_interval(100 * (ca["top1"][indices].mean(1) - cb_aligned[indices].mean(1)))
    assert (lo, hi) == pytest.approx(expected)
    # The paired interval is narrower than independent resampling: videos both models get right cancel.
    other = bootstrap.split_resample_indices((60, 60))[1]
    independent = 100 * (ca["top1"][indices].mean(1) - cb_aligned[other].mean(1))
    lo_ind, hi_ind = bootstrap.percentile_interval(independent)
    assert hi - lo < hi_ind - lo_ind


def test_paired_difference_refuses_different_videos(tmp_path):
    a = write_scores(tmp_path / "a.json", n=20, hits1=10)
    b = write_scores(tmp_path / "b.json", n=20, hits1=10, prefix="w")
    with pytest.raises(ScoresFileError) as err:
        paired_difference(a, b)
    assert "video ids differ" in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, ConfigError)  # make_table.py reports it as one line
    c = write_scores(tmp_path / "c.json", n=20, hits1=10, classes=5)
    with pytest.raises(ScoresFileError, match="labels or class count differ"):
        paired_difference(a, c)


def test_one_seed_in_a_list_is_the_single_file(tmp_path):
    """A configuration with one seed gives the very numbers of the layout before seeds existed."""
    path = write_scores(tmp_path / "a.json", n=40, hits1=25, classes=4)
    single = row_intervals([path])
    assert row_intervals([[path]]) == single
    assert single["seeds"] == 1 and single["spread"]["top1"] == (single["top1"][0],) * 2


def test_seeds_give_their_mean_spread_and_a_pooled_interval(tmp_path):
    good = write_scores(tmp_path / "s0.json", n=60, hits1=54, classes=4)
    poor = write_scores(tmp_path / "s1.json", n=60, hits1=30, classes=4, order=list(range(59, -1, -1)))
    pooled = row_intervals([[good, poor]])
    assert pooled["seeds"] == 2
    assert pooled["top1"][0] == pytest.approx(70.0)  # (90 + 50) / 2
    assert pooled["spread"]["top1"] == (50.0, 90.0)
    _, lo, hi = pooled["top1"]
    # Resampling the seeds as well: the interval spans the trainings' noise, wider than either seed's own.
    for alone in (row_intervals([good]), row_intervals([poor])):
        assert hi - lo > alone["top1"][2] - alone["top1"][1]
    assert lo < 60 < 80 < hi


def test_seeds_of_other_videos_are_refused(tmp_path):
    a = write_scores(tmp_path / "s0.json", n=30, hits1=20, classes=4)
    b = write_scores(tmp_path / "s1.json", n=30, hits1=20, classes=4, prefix="w")
    with pytest.raises(ScoresFileError, match="s1.npz: video ids differ from .*s0.npz.*same videos"):
        row_intervals([[a, b]])


def test_paired_difference_over_seeds(tmp_path):
    """Identical rows differ by exactly zero; a gap larger than the seeds' spread is found over seeds too."""
    seeds = [write_scores(tmp_path / f"a{k}.json", n=80, hits1=h, classes=4) for k, h in enumerate((60, 52))]
    same = paired_difference(seeds, list(seeds))
    assert same["top1"] == (0.0, 0.0, 0.0)
    low = [write_scores(tmp_path / f"b{k}.json", n=80, hits1=h, classes=4) for k, h in enumerate((20, 28))]
    diff, lo, hi = paired_difference(seeds, low)["top1"]
    assert diff == pytest.approx(70.0 - 30.0) and 0 < lo < diff < hi
    assert paired_difference(low, seeds)["top1"][2] < 0


def test_missing_per_video_scores_is_one_line(tmp_path):
    json_only = tmp_path / "x.json"
    json_only.write_text(json.dumps({"top1": 50.0, "top5": 90.0}))
    plan = table_plan([reproduced("A", str(json_only), flops_file(tmp_path / "f.json"))], {"ok": True})
    with pytest.raises(ConfigError, match=r"x.npz: per-video scores not found; rerun the test or fuse rule"):
        write_table(plan, tmp_path / "t.csv", tmp_path / "t.md")


# ----------------------------------------------------------------------------------------------- tables


def test_non_comparable_plan_gives_no_deltas_and_says_why(tmp_path, capsys):
    flops = flops_file(tmp_path / "f.json", 36.3)
    rows = [
        reproduced("CT-Net", write_scores(tmp_path / "ct.json", n=80, hits1=78, classes=4), flops,
                   paper={"top1": 47.8, "top5": 77.2, "gflops": 36.3}),
        reproduced("TSN", write_scores(tmp_path / "tsn.json", n=80, hits1=25, classes=4), flops,
                   paper={"top1": 19.7, "top5": 46.6, "gflops": 33.0}),
        {"label": "Quoted", "origin": "quoted", "paper": {"top1": 45.0}},
    ]
    plan = table_plan(rows, {"ok": False, "why": WHY})
    spec = importlib.util.spec_from_file_location("make_table", ROOT / "scripts/make_table.py")
    make_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_table)
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    assert make_table.main(["--plan", str(tmp_path / "plan.json"), "--csv", str(tmp_path / "t.csv"),
                            "--md", str(tmp_path / "t.md")]) == 0
    assert WHY in capsys.readouterr().out

    fieldnames, csv_rows = read_csv(tmp_path / "t.csv")
    assert fieldnames == COLUMNS and fieldnames[:len(OLD_COLUMNS)] == OLD_COLUMNS
    ct = csv_rows["CT-Net"]
    assert ct["top1"] == "97.50" and ct["diff_top1"] == "" and ct["diff_top5"] == ""
    assert ct["top5"] == ct["top5_lo"] == ct["top5_hi"] == ""  # 4 classes: 100 % by construction
    # one run's top-1: the Wilson interval, not a percentile bootstrap's edge at 100
    assert (float(ct["top1_lo"]), float(ct["top1_hi"])) == pytest.approx(stats.wilson_interval(78, 80), abs=0.01)
    assert ct["mean_class_acc"] == "97.50" and ct["mean_class_acc_lo"] and ct["mean_class_acc_hi"]
    assert all(csv_rows["Quoted"][column] == "" for column in INTERVAL_COLUMNS)
    assert ct["gflops"] == "36.3" and ct["paper_gflops"] == "36.3"  # GFLOPs as before

    lines = (tmp_path / "t.md").read_text().splitlines()
    assert lines[0] == "# Test table" and lines[1] == ""
    note = lines[2]  # one line under the title: why not, what is comparable, and top-5
    assert WHY in note and "GFLOPs" in note and "paper's convention" in note
    assert "top-5 is left empty: with 4 classes" in note and "100 % by construction" in note
    markdown = "\n".join(lines)
    assert "Δ" not in markdown
    assert "| Row | Source | Views | Top-1 | Top-5 | GFLOPs |\n" in markdown + "\n"
    ct_line = next(line for line in lines if line.startswith("| CT-Net |"))
    assert re.search(r"\| 97\.5 \[\d+(\.\d)?, \d+(\.\d)?\] \(47\.8\) \| – \(77\.2\) \| 36\.3 \(36\.3\) \|$", ct_line), ct_line
    assert "Brackets: 95 % interval over the 80 validation videos: Wilson score interval over the videos" in markdown


def test_comparable_plan_keeps_the_deltas(tmp_path):
    flops = flops_file(tmp_path / "f.json")
    rows = [reproduced("CT-Net", write_scores(tmp_path / "ct.json", n=200, hits1=100, hits5=160), flops,
                       paper={"top1": 47.8, "top5": 77.2, "gflops": 37.0})]
    write_table(table_plan(rows, {"ok": True}), tmp_path / "t.csv", tmp_path / "t.md")
    _, csv_rows = read_csv(tmp_path / "t.csv")
    ct = csv_rows["CT-Net"]
    assert ct["diff_top1"] == "2.20" and ct["diff_top5"] == "2.80"
    assert float(ct["top5_lo"]) < 80.0 < float(ct["top5_hi"])
    markdown = (tmp_path / "t.md").read_text()
    assert "| Row | Source | Views | Top-1 | Top-5 | GFLOPs | Δ Top-1 | Δ Top-5 |" in markdown
    assert re.search(r"\| CT-Net \| reproduced \| 1 \| 50 \[\d+(\.\d)?, \d+(\.\d)?\] \(47\.8\) \| "
                     r"80 \[\d+(\.\d)?, \d+(\.\d)?\] \(77\.2\) \| 10\.0 \(37\.0\) \| 2\.20 \| 2\.80 \|", markdown)
    assert "not comparable" not in markdown.lower() and "by construction" not in markdown


def test_rows_of_a_mean_over_splits_and_an_ensemble(tmp_path):
    flops = flops_file(tmp_path / "f.json")
    splits = [write_scores(tmp_path / f"s{k}.json", n=50, hits1=25 + 5 * k, prefix=f"s{k}_") for k in range(3)]
    fused = write_scores(tmp_path / "fused.json", n=50, hits1=45)
    rows = build_rows(table_plan([reproduced("SPLITS", splits, flops, mean_over=["a", "b", "c"]),
                                  reproduced("EN", fused, flops, ensemble="en")], {"ok": True}))
    assert rows[0]["top1"] == "60.00" and rows[0]["_num_videos"] == 150
    assert float(rows[0]["top1_lo"]) < 60.0 < float(rows[0]["top1_hi"])
    assert rows[1]["top1"] == "90.00" and rows[1]["_num_videos"] == 50


# ----------------------------------------------------------------------------------------------- plots


def test_error_bars_read_from_the_interval_columns(tmp_path):
    flops = flops_file(tmp_path / "f.json")
    rows = [reproduced("CT-Net", write_scores(tmp_path / "ct.json", n=40, hits1=30), flops,
                       paper={"top1": 47.8, "gflops": 10.0}),
            {"label": "Quoted", "origin": "quoted", "paper": {"top1": 45.0, "gflops": 20.0}}]
    write_table(table_plan(rows, {"ok": True}), tmp_path / "t.csv", tmp_path / "t.md")
    table = {row["row"]: row for row in read_table_csv(tmp_path / "t.csv")}
    below, above = error_bar(table["CT-Net"], "top1")
    assert below[0] == pytest.approx(75.0 - table["CT-Net"]["top1_lo"]) and below[0] > 0 and above[0] > 0
    assert error_bar(table["Quoted"], "top1") is None
    # A CSV from before the interval columns still reads, without bars.
    with open(tmp_path / "t.csv", newline="") as handle:
        old = [{key: row[key] for key in OLD_COLUMNS} for row in csv.DictReader(handle)]
    with open(tmp_path / "old.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=OLD_COLUMNS)
        writer.writeheader()
        writer.writerows(old)
    assert error_bar(read_table_csv(tmp_path / "old.csv")[0], "top1") is None
    for script, extra in (("plot_table.py", ["--title", "t"]), ("plot_fig5.py", [])):
        module = load_script(script)
        for name in ("t.csv", "old.csv"):
            out = tmp_path / f"{script}.{name}.png"
            assert module.main(["--csv", str(tmp_path / name), "--out", str(out), *extra]) == 0
            assert out.stat().st_size > 0


def table4_csv(tmp_path, comparable, shared):
    """Table 4's CSV from config/tables/4.yaml's rows, each CT-Net row with its own FLOPs count and the ensemble
    not run. With `shared`, both CT-Net rows read one scores file, as at CPU scale where one training serves R50 and
    R101; otherwise each its own."""
    spec = yaml.safe_load((ROOT / "config/tables/4.yaml").read_text())
    rows = []
    for row in spec["rows"]:
        if row.get("quoted"):
            rows.append({"label": row["label"], "origin": "quoted", "paper": row["paper"],
                         **({"views": row["views"]} if "views" in row else {})})
        elif "experiment" in row:
            own = not shared and "r101" in row["experiment"]
            scores = write_scores(tmp_path / ("r101.json" if own else "ct.json"), n=80, hits1=40 if own else 32,
                                  classes=5)
            flops = flops_file(tmp_path / f"{row['experiment']}.flops.json", gflops=row["paper"]["gflops"] / 12)
            rows.append(reproduced(row["label"], scores, flops, paper=row["paper"], views=12))
        else:
            rows.append({"label": row["label"], "origin": "not run", "paper": row["paper"]})
    write_table(table_plan(rows, comparable), tmp_path / "4.csv", tmp_path / "4.md")
    return tmp_path / "4.csv"


def drawn_texts(fig):
    """The texts a drawn figure shows: titles, axis labels, annotations, legends and the tick labels inside the
    view (matplotlib keeps a tick beyond each end that it does not draw)."""
    fig.canvas.draw()
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        texts += ax.get_legend().get_texts() if ax.get_legend() else []
        for ticks, labels, (low, high) in ((ax.get_xticks(), ax.get_xticklabels(), ax.get_xlim()),
                                           (ax.get_yticks(), ax.get_yticklabels(), ax.get_ylim())):
            texts += [label for tick, label in zip(ticks, labels) if low <= tick <= high]
    return [text for text in texts if text.get_visible() and text.get_text()]


def text_overlaps(fig):
    """Pairs of the figure's drawn texts whose boxes share an area: the boxes of the characters (Text's
    get_window_extent; an annotation's own spans its leader line too, as one box from text to point)."""
    renderer = fig.canvas.get_renderer()
    boxes = [(text.get_text(), matplotlib.text.Text.get_window_extent(text, renderer)) for text in drawn_texts(fig)]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
            if min(box_a.x1, box_b.x1) > max(box_a.x0, box_b.x0) and min(box_a.y1, box_b.y1) > max(box_a.y0, box_b.y0)]


@pytest.mark.parametrize("comparable, shared", [({"ok": False, "why": WHY}, True), ({"ok": True}, False)])
def test_fig5_paper_and_run_apart_labels_clear_shared_training_marked(tmp_path, comparable, shared):
    module = load_script("plot_fig5.py")
    rows = read_table_csv(table4_csv(tmp_path, comparable, shared))
    fig = module.draw(rows)
    assert len(fig.axes) == 2
    ax_paper, ax_run = fig.axes
    assert ax_paper.get_title() == "Paper: Kinetics-400, as published"
    if comparable["ok"]:
        assert ax_run.get_title() == "This run: comparable with the paper"
    else:
        assert ax_run.get_title() == f"This run: not comparable with the paper\n({WHY})"
        assert "Kinetics-400" not in ax_run.get_title()
    # The paper's 14 per-clip points (the ensemble has no per-clip cost) and this run's two, on their own axes.
    assert len(ax_paper.texts) == 14 and "CT-Net-R101 16f" in {text.get_text() for text in ax_paper.texts}
    assert sorted(text.get_text() for text in ax_run.texts) == ["CT-Net-R101 16f", "CT-Net-R50 16f"]
    assert max(ax_run.get_ylim()) < min(ax_paper.get_ylim())  # each axis spans its own values only
    assert text_overlaps(fig) == []
    # One training behind both CT-Net rows is joined and said so; rows of their own trainings are not.
    joined = [line.get_label() for line in ax_run.get_lines() if line.get_linestyle() == ":"]
    assert joined == (["one training\nserves CT-Net-R50 16f and CT-Net-R101 16f"] if shared else [])
    # Error bars from the interval columns.
    ours = [row for row in rows if row["source"] == "reproduced"]
    bars = sorted(tuple(segment[:, 1]) for collection in ax_run.collections
                  if isinstance(collection, matplotlib.collections.LineCollection)
                  for segment in collection.get_segments())
    assert bars == sorted((row["top1_lo"], row["top1_hi"]) for row in ours)
    out = tmp_path / "fig5.png"
    assert module.main(["--csv", str(tmp_path / "4.csv"), "--out", str(out)]) == 0 and out.stat().st_size > 0
