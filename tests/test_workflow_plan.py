"""ctnet.workflow: configuration checks, experiment resolution, FLOPs convention and table writing (no Snakemake)."""

import csv
import json
import re
from pathlib import Path

import pytest
import yaml

from ctnet.workflow import ConfigError, Plan, claims
from ctnet.workflow.tables import COLUMNS, build_rows
from ctnet.workflow.tables import write_table as write_outputs

ROOT = Path(__file__).resolve().parents[1]
# Every table spec: the paper's Tables 2a-2h and 3-8.
TABLES = sorted(path.stem for path in (ROOT / "config/tables").glob("*.yaml"))


def load(name):
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.fixture(scope="module")
def plan():
    return Plan(load("config.yaml"), root=ROOT)


def test_default_config_builds_every_table(plan):
    assert plan.tables == TABLES
    assert plan.plots()  # the ablations the paper plots draw a figure


def test_experiment_cited_by_several_tables_is_trained_once(plan):
    citing = [table for table in TABLES
              if any(row.get("experiment") == "v1_ctm_8f" for row in plan.specs[table]["rows"])]
    assert len(citing) >= 5
    assert plan.experiments().count("v1_ctm_8f") == 1
    assert plan.experiments(citing) == sorted(set(plan.experiments(citing)))


def test_resolve_applies_scale_and_synthetic_data(plan):
    spec = plan.resolve("v1_ct_8f")
    assert spec["name"] == "v1_ct_8f"
    assert spec["model"]["backbone"] == "resnet26"
    assert spec["model"]["base_width"] == load("config.yaml")["scale"]["model"]["base_width"] != 64
    assert spec["model"]["pretrained"] is None and spec["train"]["optimizer"] == "adamw"
    assert spec["model"]["ct"] == {"sub_dims": 2, "kernels": [3, 3], "connection": "parallel",
                                   "pointwise": True, "excitation": "te"}
    assert spec["data"]["dataset"] == "synthetic"
    assert spec["data"]["train_list"] == "results/data/synthetic/lists/train.txt"
    assert spec["data"]["num_frames"] == 8 and spec["data"]["flip"] is False
    factor = load("config.yaml")["scale"]["size_factor"]
    assert spec["data"]["train_size"] == round(256 * factor)
    assert spec["protocols"]["1x1_224"]["size"] == round(224 * factor)
    assert spec["train"]["epochs"] == load("config.yaml")["scale"]["train"]["epochs"]
    assert "protocols" not in plan.resolve_train("v1_ct_8f")


def test_paper_config_keeps_the_paper_schedule(tmp_path):
    config = load("paper.yaml")
    config["datasets"] = {dataset: "k" for dataset in config["datasets"]}
    config["sources"] = {"k": {"kind": "kinetics400", "annotations": str(tmp_path), "videos": str(tmp_path)}}
    weights = tmp_path / "r50.pth"
    weights.write_bytes(b"")
    config["imagenet_weights"] = {"resnet50": str(weights), "resnet101": str(weights)}
    config["tables"] = ["4"]
    plan = Plan(config, root=ROOT, config_path="paper-test.yaml")
    spec = plan.resolve("k400_ct_16f")
    assert spec["model"]["pretrained"] == str(weights) and "base_width" not in spec["model"]
    assert spec["model"]["dropout"] == 0.5 and spec["data"]["sampling"] == "dense"
    assert spec["train"]["epochs"] == 90 and spec["train"]["lr"] == 0.01  # the official scripts (docs/recipe.md)
    assert spec["data"]["train_size"] == 256 and spec["protocols"]["4clips_3crops"]["size"] == 256


def test_flops_are_counted_at_the_paper_convention(plan):
    model = plan.resolver.flops_experiment(plan.resolver.flops_key("v1_ct_8f"))["model"]
    assert "base_width" not in model and model["pretrained"] is None  # the build_model default: 64, the paper
    assert plan.resolver.paper_model("v1_ct_8f")[1] == 174 and plan.resolver.paper_model("k400_ct_16f")[1] == 400
    # Something-Something V1 and V2 share the model and the class count: one count serves both
    assert plan.resolver.flops_key("v2_ct_8f") == plan.resolver.flops_key("v1_ct_8f")
    assert plan.resolver.flops_key("minik_c3d_8f") != plan.resolver.flops_key("v1_c3d_8f")  # 200 classes, not 174
    assert plan.flops_path("v1_ct_8f", "1x1_224").endswith("_224.json")
    assert plan.flops_path("v1_ct_8f", "1x1").endswith("_256.json")


def test_skipped_experiment_leaves_its_rows_empty():
    config = load("config.yaml")
    config["skip_experiments"] = ["v1_ct_24f"]
    plan = Plan(config, root=ROOT)
    assert "v1_ct_24f" not in plan.experiments()
    assert "v1_ct_en" not in plan.ensembles()  # its member is not run
    rows = {row["label"]: row for row in plan.table_plan("6")["rows"] if row.get("group", "").endswith("V1")}
    assert rows["CT-Net 24f (1x1)"]["origin"] == "not run"
    assert "skipped" in rows["CT-Net 24f (1x1)"]["note"]


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.update(epochs=3), "config.yaml: (top level): Additional properties are not allowed ('epochs'"),
    (lambda c: c["datasets"].update(sthv1="nowhere"), "datasets.sthv1: no source named 'nowhere'"),
    (lambda c: c["sources"].update(real={"kind": "sthv1", "annotations": "/tmp"}),
     "sources.real: give exactly one of `videos:`"),
    (lambda c: c.update(tables=["9"]), "tables: no spec for table '9'"),
    (lambda c: c.update(skip_experiments=["nope"]), "skip_experiments: no experiment named 'nope'"),
])
def test_config_errors_are_one_clear_line(edit, message):
    config = load("config.yaml")
    edit(config)
    with pytest.raises(ConfigError) as err:
        Plan(config, root=ROOT, config_path="config.yaml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_data_not_downloaded_yet_is_planned_and_priced_but_refused_by_a_real_run():
    """A lab prices the run and looks at its plan before it fetches 1.6 TB: a missing dataset or weights file is
    no error of the plan; the rules' inputs skip it in a dry run, and a real run stops on its one line."""
    config = load("paper.yaml")
    plan = Plan(config, root=ROOT, config_path="config/paper.yaml")  # the checkout holds no data/
    annotations = config["sources"]["sthv1"]["annotations"]
    assert annotations in plan.missing
    assert plan.downloaded(annotations, dry_run=True) == []
    with pytest.raises(ConfigError) as err:
        plan.downloaded(annotations, dry_run=False)
    assert str(err.value) == (f"config/paper.yaml: sources.sthv1.annotations: {annotations} does not exist; download "
                              "the dataset there (docs/data.md) or point the key at it")
    weights = config["imagenet_weights"]["resnet50"]
    assert plan.experiment_inputs("v1_tsn_8f", dry_run=True) == plan.data_lists("v1_tsn_8f")
    with pytest.raises(ConfigError, match=f"imagenet_weights.resnet50: {weights} does not exist"):
        plan.experiment_inputs("v1_tsn_8f")
    assert plan.downloaded("results/data/x/lists/train.txt", dry_run=False) == ["results/data/x/lists/train.txt"]


def test_table_spec_with_unknown_experiment_names_the_file(tmp_path):
    (tmp_path / "workflow").symlink_to(ROOT / "workflow")  # the schemas
    (tmp_path / "config" / "tables").mkdir(parents=True)
    (tmp_path / "config" / "experiments.yaml").write_text((ROOT / "config/experiments.yaml").read_text())
    (tmp_path / "config" / "tables" / "9.yaml").write_text(yaml.safe_dump(
        {"table": "9", "title": "t", "rows": [{"label": "x", "experiment": "v9", "protocol": "1x1", "paper": {}}]}))
    with pytest.raises(ConfigError, match=r"config/tables/9.yaml: rows\[0\] \(x\): no experiment named 'v9'"):
        Plan(load("config.yaml"), root=tmp_path)


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return str(path)


def write_scores(path, n, hits1, hits5, classes=10):
    """Per-video scores of n videos, the first `hits1` right at top-1 and the first `hits5` within the top 5,
    saved as the test rule does (S.npz and its S.json); returns the JSON a table plan names."""
    from ctnet.engine.scores import save_scores  # torch-importing package, only where needed

    labels = [i % classes for i in range(n)]
    scores = [[0.0] * classes for _ in range(n)]
    for i, label in enumerate(labels):
        rank = 0 if i < hits1 else (2 if i < hits5 else classes - 1)
        others = [c for c in range(classes) if c != label]
        for score, c in zip(range(classes, 0, -1), others[:rank] + [label] + others[rank:]):
            scores[i][c] = float(score)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_scores(path.with_suffix(".npz"), [f"v{i}" for i in range(n)], labels, scores,
                [f"c{c}" for c in range(classes)], protocol="p", experiment=path.stem)
    return str(path.with_suffix(".json"))


def write_table(plan, csv_path, md_path):
    """What make_table.py does: rows and claims' evidence computed once, then written."""
    write_outputs(plan, build_rows(plan), claims.evaluate_plan(plan), csv_path, md_path)


def test_write_table_sums_views_and_leaves_unknown_cells_empty(tmp_path):
    flops = write_json(tmp_path / "f.json", {"gflops": 10.0})
    flops2 = write_json(tmp_path / "g.json", {"gflops": 20.0})
    single = write_scores(tmp_path / "a.json", n=20, hits1=12, hits5=18)  # top-1 60 %, top-5 90 %
    fused = write_scores(tmp_path / "e.json", n=20, hits1=14, hits5=19)  # 70 %, 95 %
    plan = {
        "table": "t", "title": "Test table", "config": "config/x.yaml", "description": "",
        "comparable": {"ok": True},
        "findings": [{"claim": "B beats A", "higher": "B", "lower": "A"}],
        "rows": [
            {"label": "A", "origin": "quoted", "views": 30, "paper": {"top1": 50.0, "top5": None, "gflops": 300.0},
             "certainty": {"top1": "certain"}},
            {"label": "B", "origin": "reproduced", "experiment": "b", "protocol": "p",
             "evaluations": [{"scores": single, "members": [{"experiment": "b", "protocol": "p", "views": 6,
                                                              "flops": flops}]}],
             "paper": {"top1": 62.5, "top5": None, "gflops": 60.0}, "certainty": {"top1": "reconstructed"}},
            {"label": "EN", "origin": "reproduced", "ensemble": "e",
             "evaluations": [{"scores": fused, "members": [{"experiment": "b", "protocol": "p", "views": 1,
                                                             "flops": flops},
                                                            {"experiment": "c", "protocol": "p", "views": 1,
                                                             "flops": flops2}]}],
             "paper": {}},
            {"label": "SPLITS", "origin": "reproduced", "mean_over": ["b", "b2"], "protocol": "p",
             "evaluations": [{"scores": single, "members": [{"experiment": "b", "protocol": "p", "views": 6,
                                                              "flops": flops}]},
                             {"scores": fused, "members": [{"experiment": "b2", "protocol": "p", "views": 6,
                                                             "flops": flops}]}],
             "paper": {}},
        ],
    }
    write_table(plan, tmp_path / "t.csv", tmp_path / "t.md")
    with open(tmp_path / "t.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        rows = {row["row"]: row for row in reader}
    assert rows["A"]["top1"] == "" and rows["A"]["paper_top1"] == "50.0" and rows["A"]["paper_top5"] == ""
    assert rows["A"]["paper_gflops_per_view"] == "10.0" and rows["A"]["top1_lo"] == ""
    assert rows["B"]["gflops"] == "60.0" and rows["B"]["gflops_per_view"] == "10.0"
    assert rows["B"]["diff_top1"] == "-2.50" and rows["B"]["views"] == "6"
    assert float(rows["B"]["top1_lo"]) < 60.0 < float(rows["B"]["top1_hi"])
    assert rows["EN"]["gflops"] == "30.0" and rows["EN"]["gflops_per_view"] == "" and rows["EN"]["paper_top1"] == ""
    # the mean over splits: accuracies averaged, GFLOPs those of one model (not summed over the splits)
    assert rows["SPLITS"]["top1"] == "65.00" and rows["SPLITS"]["top5"] == "92.50"
    assert rows["SPLITS"]["gflops"] == "60.0" and rows["SPLITS"]["views"] == "6"
    assert rows["SPLITS"]["experiment"] == "b b2"
    markdown = (tmp_path / "t.md").read_text()
    assert re.search(r"\| B \| reproduced \| 6 \| 60 \[\d+(\.\d)?, \d+(\.\d)?\] \(~62\.5\) \|", markdown)
    assert "- B beats A: not run" in markdown  # quoted A has no reproduced value


def test_write_table_reports_a_missing_result_file(tmp_path):
    plan = {"table": "t", "title": "t", "config": "c", "rows": [
        {"label": "B", "origin": "reproduced", "experiment": "b", "protocol": "p",
         "evaluations": [{"scores": str(tmp_path / "missing.json"), "members": []}], "paper": {}}]}
    with pytest.raises(ConfigError, match="missing.json: file not found"):
        write_table(plan, tmp_path / "t.csv", tmp_path / "t.md")
    assert not (tmp_path / "t.csv").exists()


def test_sparse_only_protocol_on_dense_experiment_is_refused(tmp_path):
    (tmp_path / "workflow").symlink_to(ROOT / "workflow")  # the schemas
    (tmp_path / "config" / "tables").mkdir(parents=True)
    (tmp_path / "config" / "experiments.yaml").write_text((ROOT / "config/experiments.yaml").read_text())
    (tmp_path / "config" / "tables" / "9.yaml").write_text(yaml.safe_dump(
        {"table": "9", "title": "t",
         "rows": [{"label": "x", "experiment": "k400_ct_16f", "protocol": "2clips_3crops", "paper": {}}]}))
    with pytest.raises(ConfigError, match="k400_ct_16f samples densely but is tested with protocol 2clips_3crops"):
        Plan(load("config.yaml"), root=tmp_path)


def test_identical_trainings_run_once(plan):
    # At CPU scale V1 and V2 map to one synthetic dataset: the V2 row reuses the V1 training...
    assert plan.trained_as("v2_ct_16f") == plan.trained_as("v1_ct_16f")
    assert plan.weights("v2_ct_16f") == plan.weights("v1_ct_16f")
    # ...while experiments that differ keep their own.
    assert plan.trained_as("v1_ct_8f") != plan.trained_as("v1_ct_16f")


def test_table5_averages_three_splits_trained_once_at_cpu_scale(plan):
    row = next(row for row in plan.table_plan("5")["rows"] if row.get("group") == "UCF101" and "mean_over" in row)
    splits = ["ucf101_ct_16f", "ucf101_ct_16f_split2", "ucf101_ct_16f_split3"]
    # One synthetic split stands for all three: one training (and its test) serves every split of both datasets.
    assert len({plan.trained_as(exp) for exp in splits + ["hmdb51_ct_16f_split3"]}) == 1
    served = plan.scores(plan.trained_as(splits[0]), "2clips_3crops_uniform")
    assert [evaluation["scores"] for evaluation in row["evaluations"]] == [[served]] * 3
    assert served in plan.table_inputs("5")


def test_seeds_train_and_test_each_experiment_once_per_seed():
    config = load("config.yaml")
    config["seeds"] = [0, 7]
    del config["table_seeds"]  # every experiment on the same seeds (table_seeds: the next test)
    plan = Plan(config, root=ROOT)
    assert plan.runs("v1_ct_8f") == ["v1_ct_8f/seed0", "v1_ct_8f/seed7"]
    assert plan.resolve_train("v1_ct_8f/seed7")["seed"] == 7
    assert plan.weights("v1_ct_8f", 7) == "results/train/v1_ct_8f/seed7/final.pt"
    assert plan.run_weights("v2_ct_8f/seed7") == plan.weights(plan.trained_as("v2_ct_8f"), 7)
    # a fine-tuning starts from its parent's run of the same seed
    parent = plan.weights("k400_ct_16f", 7)
    assert plan.resolve_train("ucf101_ct_16f/seed7")["train"]["init_from"] == parent
    assert parent in plan.experiment_inputs("ucf101_ct_16f/seed7")
    row = next(row for row in plan.table_plan("2e")["rows"] if row["experiment"] == "v1_ctm_8f")
    assert row["evaluations"][0]["scores"] == ["results/scores/v1_ctm_8f/seed0/1x1.json",
                                               "results/scores/v1_ctm_8f/seed7/1x1.json"]
    ensemble = next(row for row in plan.table_plan("3")["rows"] if "ensemble" in row)
    runs = plan.ensemble_runs(ensemble["ensemble"])
    assert [path.rsplit("/", 1)[-1] for path in runs] == ["seed0", "seed7"]
    assert all("/seed7/" in member for member in plan.ensemble_members(runs[1]))


def test_table_seeds_train_one_table_on_more_seeds():
    """The default: Table 2e's experiments on seeds 0-2 (the rest one run), 8 more trainings; an experiment that
    another's training serves runs on its seeds, and a one-run row of another table reads seed 0's run."""
    plan = Plan(load("config.yaml"), root=ROOT)
    trainings = {plan.trained_as(exp) for exp in plan.experiments()}
    seeded = sorted(exp for exp in trainings if plan.seeded(exp))
    assert seeded == ["v1_ctm_8f", "v1_ctm_res45_8f", "v1_ctm_res5_8f", "v1_tsn_8f"]
    assert sum(len(plan.runs(exp)) for exp in trainings) == len(trainings) + 8
    assert plan.runs("v1_tsn_8f") == [f"v1_tsn_8f/seed{k}" for k in range(3)]
    assert plan.runs("v1_ct_8f") == ["v1_ct_8f"] and plan.table_plan("2e")["min_seeds"] == 3
    row = next(row for row in plan.table_plan("2a")["rows"] if row["experiment"] == "v1_ctm_8f")
    assert len(row["evaluations"][0]["scores"]) == 3  # the CT-Module of 2a is 2e's default row: three runs


def test_one_seed_keeps_the_paths_of_a_single_run():
    config = load("config.yaml")
    config["seeds"] = [5]
    plan = Plan(config, root=ROOT)
    assert plan.runs("v1_ct_8f") == ["v1_ct_8f"] and plan.weights("v1_ct_8f") == "results/train/v1_ct_8f/final.pt"
    assert plan.resolve_train("v1_ct_8f")["seed"] == 5


def test_paper_config_gives_each_split_its_own_lists(tmp_path):
    config = load("paper.yaml")
    for name, source in config["sources"].items():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                source[key] = str(tmp_path)  # only checked for existence
    config["imagenet_weights"] = {name: str(ROOT / "README.md") for name in config["imagenet_weights"]}
    paper = Plan(config, root=ROOT)
    lists = {exp: paper.resolve_train(exp)["data"]["train_list"]
             for exp in ("ucf101_ct_16f", "ucf101_ct_16f_split2", "ucf101_ct_16f_split3")}
    assert len(set(lists.values())) == 3
    assert paper.data.source(paper.config["datasets"]["ucf101_split3"])["split"] == 3
    assert paper.data.frames_root("ucf101_split2") == paper.data.frames_root("ucf101")  # frames extracted once
    assert len({paper.trained_as(exp) for exp in lists}) == 3


def test_table5_fine_tunes_the_kinetics_ctnet(plan):
    kinetics = plan.weights("k400_ct_16f")
    for exp in ("ucf101_ct_16f", "hmdb51_ct_16f"):
        assert plan.resolve_train(exp)["train"]["init_from"] == kinetics
        assert kinetics in plan.experiment_inputs(exp)  # Snakemake trains Kinetics-400 first
    assert "init_from" not in plan.resolve_train("k400_ct_16f")["train"]
    # The two fine-tunings resolve alike at CPU scale (one synthetic dataset): one training serves both.
    assert plan.trained_as("hmdb51_ct_16f") == plan.trained_as("ucf101_ct_16f")
    # Same model and data as v1_ct_16f, but a different start: its own training.
    assert plan.trained_as("ucf101_ct_16f") != plan.trained_as("v1_ct_16f")


def test_fine_tuning_from_a_skipped_experiment_is_refused():
    config = load("config.yaml")
    config["skip_experiments"] = ["k400_ct_16f"]
    with pytest.raises(ConfigError, match=r"k400_ct_16f is skipped but hmdb51_ct_16f fine-tunes its weights"):
        Plan(config, root=ROOT, config_path="config.yaml")


@pytest.mark.parametrize("init_from, message", [
    ("nope", "experiments.ucf101_ct_16f.init_from: no experiment named 'nope'"),
    ("ucf101_ct_16f", "experiments.ucf101_ct_16f: `init_from:` chain loops (ucf101_ct_16f -> ucf101_ct_16f)"),
])
def test_bad_init_from_names_the_experiment(tmp_path, init_from, message):
    (tmp_path / "workflow").symlink_to(ROOT / "workflow")  # the schemas
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "tables").symlink_to(ROOT / "config" / "tables")
    catalogue = load("experiments.yaml")
    catalogue["experiments"]["ucf101_ct_16f"]["init_from"] = init_from
    (tmp_path / "config" / "experiments.yaml").write_text(yaml.safe_dump(catalogue))
    with pytest.raises(ConfigError) as err:
        Plan(load("config.yaml"), root=tmp_path)
    assert message in str(err.value)


def test_max_failed_fraction_reaches_extraction_only_when_set():
    config = load("smoke.yaml")
    assert Plan(config, root=ROOT).data.extraction_options("synthetic") == ""
    config["sources"]["synthetic"]["max_failed_fraction"] = 0.2
    assert Plan(config, root=ROOT).data.extraction_options("synthetic") == "--max-failed-fraction 0.2"


def test_cluster_site_settings_are_refused_with_their_home():
    """No rule reads a partition from the configuration: the SLURM profile is where the cluster's settings live."""
    config = load("paper.yaml")
    config["resources"]["train"]["slurm_partition"] = "gpu"
    with pytest.raises(ConfigError, match=r"resources.train.slurm_partition: site settings of the cluster belong "
                                          r"in slurm/config.yaml"):
        Plan(config, root=ROOT, config_path="paper.yaml")


def test_overrides_give_another_reading_of_a_dataset_and_a_protocol():
    config = load("smoke.yaml")
    config["overrides"] = {"paper_datasets": {"kinetics400": {"train": {"epochs": 90}}},
                           "protocols": {"1x1": {"views_per_batch": 4}}}
    plan = Plan(config, root=ROOT)
    assert plan.catalogue["paper_datasets"]["kinetics400"]["train"]["epochs"] == 90
    assert plan.catalogue["paper_datasets"]["kinetics400"]["num_classes"] == 400  # merged, not replaced
    assert plan.catalogue["protocols"]["1x1"]["views_per_batch"] == 4
    config["overrides"] = {"protocols": {"1x1_typo": {"size": 224}}}
    with pytest.raises(ConfigError, match=r"overrides.protocols.1x1_typo: config/experiments.yaml has no such entry"):
        Plan(config, root=ROOT)


def test_generation_options_do_not_depend_on_the_order_of_the_keys():
    """The synthetic source's options are make_synthetic's params, compared by Snakemake as text: the same
    `generate:` in another key order (a YAML file re-dumped with sorted keys) must not regenerate the videos, which
    re-extracted every frame and retrained every model (CI found it through test_workflow_e2e)."""
    from ctnet.workflow.sources import DataSources

    generate = {"num_videos": 48, "seed": 0, "size": 40, "frames": 16, "num_classes": 4}
    shuffled = dict(reversed(list(generate.items())))
    options = [DataSources({"s": {"kind": "synthetic", "generate": g}}).generation_options("s")
               for g in (generate, shuffled)]
    assert options[0] == options[1] == "--frames 16 --num-classes 4 --num-videos 48 --seed 0 --size 40"
