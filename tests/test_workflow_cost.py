"""The cost table (ctnet.workflow.cost, `snakemake cost`): hours = clips / clips per second on a small known case,
shared trainings counted once, seeds multiplying, estimates labelled as such, a missing model as one line naming
the command that measures it, a bad number in the throughput file as one line naming it (in the dry run too), the
paper configuration priced in seconds, and training time limits from the same estimate."""

import csv
import math
import shutil
import time

import pytest
import yaml

from ctnet.workflow import ConfigError, Plan
from ctnet.workflow.cost import (CLUSTER_RULES, RUNTIME_FLOOR_MINUTES, RUNTIME_MARGIN, Throughput, cost_plan, price,
                                 render_markdown, throughput_needs)
from helpers import ROOT, job_counts, make_real_annotations, snakemake, workflow_copy


def small_config(tables, **changes):
    """The smoke configuration restricted to `tables`, with `changes` on top."""
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config.update(tables=tables, **changes)
    return config


def write_throughput(path, plan, train=10.0, test=40.0, loader=40.0, source="measured", leave_out=(),
                     startup=(0.0, 0.0)):
    """A throughput file with one rate for every model the plan needs (but those of `leave_out`)."""
    models = [{"model": key, "frames": need["model"]["num_segments"], "size": size, "device": "test device",
               "source": source, "gflops": 1.0, "train_clips_per_s": train, "test_clips_per_s": test}
              for (key, size), need in throughput_needs(plan).items() if key not in leave_out]
    loaders = [{"split": split, "frames": 8, "clips_per_s_per_core": loader, "cpu": "test CPU", "frame_side": 40}
               for split in ("train", "test")]
    frame_bytes = {"frame_side": 40, "bytes_per_frame": 1600, "cpu": "test CPU", "source": "measured"}
    startup = {"train_seconds": startup[0], "test_seconds": startup[1], "cpu": "test CPU", "source": "measured"}
    path.write_text(yaml.safe_dump({"basis": f"{source} for the test", "models": models, "loaders": loaders,
                                    "frame_bytes": frame_bytes, "startup": startup}))
    return path


def priced(tmp_path, tables, **changes):
    plan = Plan(small_config(tables, **changes), root=ROOT, config_path="small.yaml")
    return plan, price(cost_plan(plan), Throughput(write_throughput(tmp_path / "speed.yaml", plan), "measure"))


def training(cost, exp):
    return next(entry for entry in cost["trainings"] if entry["experiment"] == exp)


def test_hours_are_epochs_times_videos_over_clips_per_second(tmp_path):
    plan, cost = priced(tmp_path, ["2e"])
    smoke = plan.config["sources"]["synthetic"]["generate"]
    entry = training(cost, "v1_tsn_8f")
    # 48 videos of 4 classes: 12 a class, 20 % of each (2) for validation
    assert entry["train_videos"] == smoke["num_videos"] - 8
    assert entry["epochs"] == plan.config["scale"]["train"]["epochs"]
    # A CPU job without loader workers loads and computes in turn: 1 / (1/10 + 1/40) = 8 clips/s
    assert entry["clips_per_s"] == pytest.approx(8.0) and entry["bound"] == "device + loader"
    assert entry["device_hours"] == pytest.approx(entry["epochs"] * entry["train_videos"] / 8.0 / 3600)
    test = next(entry for entry in cost["tests"] if entry["experiment"] == "v1_tsn_8f")
    assert test["device_hours"] == pytest.approx(8 * 1 / 20.0 / 3600)  # 8 videos x 1 view at 1/(1/40 + 1/40)
    assert cost["totals"]["train_hours"] == pytest.approx(sum(e["device_hours"] for e in cost["trainings"]))
    assert cost["jobs"]["train"] == 4 and cost["jobs"]["test"] == 4 and cost["jobs"]["make_synthetic"] == 1
    assert cost["jobs"]["extract_frames"] == plan.config["sources"]["synthetic"]["shards"]
    # frames: 48 videos x 16 frames of 40 x 40 px at 1 byte a pixel
    assert cost["totals"]["gigabytes"] == pytest.approx(48 * 16 * 1600 / 1e9)


def test_gpu_job_runs_at_the_pace_of_the_slower_of_gpus_and_loader(tmp_path):
    smoke = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    smoke["resources"]["train"].update(gpu=4, cpus_per_task=2)
    smoke["scale"]["data"]["workers"] = 2
    plan = Plan(small_config(["2e"], resources=smoke["resources"], scale=smoke["scale"]), root=ROOT,
                config_path="small.yaml")
    fed = price(cost_plan(plan), Throughput(write_throughput(tmp_path / "a.yaml", plan, loader=1000.0), "measure"))
    starved = price(cost_plan(plan), Throughput(write_throughput(tmp_path / "b.yaml", plan, loader=5.0), "measure"))
    entry, slow = training(fed, "v1_tsn_8f"), training(starved, "v1_tsn_8f")
    assert entry["clips_per_s"] == 40.0 and entry["bound"] == "device"
    assert slow["clips_per_s"] == 10.0 and slow["bound"] == "loader"  # 5 clips/s x 2 cores
    assert entry["device_hours"] == pytest.approx(4 * entry["wall_hours"])  # GPU-hours: wall time x GPUs


def test_jobs_are_counted_as_the_dry_run_plans_them(tmp_path):
    work = workflow_copy(tmp_path)
    result = snakemake(work, "-n", "all_tables")
    assert result.returncode == 0, result.stderr[-3000:]
    planned = job_counts(result.stdout + result.stderr)
    jobs = cost_plan(Plan(yaml.safe_load((ROOT / "config/config.yaml").read_text()), root=work))["jobs"]
    assert jobs == {rule: planned.get(rule, 0) for rule in CLUSTER_RULES}


def test_a_training_shared_by_tables_is_counted_once(tmp_path):
    _, cost = priced(tmp_path, ["2a", "2b"])
    shared = training(cost, "v1_ctm_8f")
    assert shared["tables"] == ["2a", "2b"]
    tables = {table["table"]: table for table in cost["tables"]}
    assert tables["2a"]["shared"] == tables["2b"]["shared"] == ["v1_ctm_8f"]
    assert sum(entry["experiment"] == "v1_ctm_8f" for entry in cost["trainings"]) == 1
    both = tables["2a"]["train_hours"] + tables["2b"]["train_hours"]
    assert cost["totals"]["train_hours"] == pytest.approx(both - shared["device_hours"])
    assert "| 2a | 4 |" in render_markdown(cost) and "v1_ctm_8f" in render_markdown(cost)


def test_seeds_multiply_trainings_and_tests(tmp_path):
    _, one = priced(tmp_path, ["2e"])
    _, three = priced(tmp_path, ["2e"], seeds=[0, 1, 2])
    assert three["totals"]["train_hours"] == pytest.approx(3 * one["totals"]["train_hours"])
    assert three["totals"]["test_hours"] == pytest.approx(3 * one["totals"]["test_hours"])
    assert three["jobs"]["train"] == 3 * one["jobs"]["train"] and three["jobs"]["test"] == 3 * one["jobs"]["test"]


def test_every_job_pays_its_start_up(tmp_path):
    plan = Plan(small_config(["2e"]), root=ROOT, config_path="small.yaml")
    cold, warm = (price(cost_plan(plan), Throughput(write_throughput(tmp_path / f"{name}.yaml", plan, startup=startup),
                                                    "measure"))
                  for name, startup in (("cold", (5.0, 3.0)), ("warm", (0.0, 0.0))))
    for kind, seconds in (("trainings", 5.0), ("tests", 3.0)):
        for slow, fast in zip(cold[kind], warm[kind]):
            assert slow["wall_hours"] - fast["wall_hours"] == pytest.approx(seconds / 3600)
    assert "5 s a training, 3 s a test, measured on test CPU" in render_markdown(cold)
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump({key: value for key, value in yaml.safe_load((tmp_path / "cold.yaml").read_text())
                                   .items() if key != "startup"}))
    with pytest.raises(ConfigError, match="^.*old.yaml: `startup:` is missing or not a dict; write the file with "
                                          "`measure`$"):
        Throughput(old, "measure")


def test_estimated_speeds_are_labelled_as_estimates(tmp_path):
    plan = Plan(small_config(["2e"]), root=ROOT, config_path="small.yaml")
    estimate = price(cost_plan(plan), Throughput(write_throughput(tmp_path / "e.yaml", plan, source="estimate"), "m"))
    measured = price(cost_plan(plan), Throughput(write_throughput(tmp_path / "m.yaml", plan), "m"))
    assert "(estimate) CPU-hours" in render_markdown(estimate) and "| estimate |" in render_markdown(estimate)
    assert "(estimate)" not in render_markdown(measured) and "| estimate |" not in render_markdown(measured)


def test_a_model_missing_from_the_throughput_file_is_one_line_naming_the_command(tmp_path):
    plan = Plan(small_config(["2e"]), root=ROOT, config_path="small.yaml")
    missing = next(key for key, _ in throughput_needs(plan) if key.startswith("tsn-"))
    path = write_throughput(tmp_path / "speed.yaml", plan, leave_out=[missing])
    command = "python benchmarks/bench_throughput.py --config small.yaml --device cpu --out speed.yaml"
    with pytest.raises(ConfigError) as error:
        price(cost_plan(plan), Throughput(path, command))
    message = str(error.value)
    assert "\n" not in message and f"no train_clips_per_s for model {missing} at 32 px" in message
    assert f"experiment v1_tsn_8f); measure it with `{command}`" in message


@pytest.mark.parametrize("section, key, value, problem", [
    ("models", "train_clips_per_s", -5.0, "not a positive number"),  # priced a run at negative hours
    ("models", "train_clips_per_s", math.nan, "not a positive number"),  # failed: cannot convert float NaN to integer
    ("models", "test_clips_per_s", 0, "not a positive number"),  # was reported as missing
    ("models", "gflops", -1.0, "not a positive number"),
    ("models", "size", "32", "not a positive number"),
    ("loaders", "clips_per_s_per_core", 0.0, "not a positive number"),
    ("frame_bytes", "bytes_per_frame", math.inf, "not a positive number"),
    ("startup", "train_seconds", -1.0, "not a number >= 0"),
])
def test_a_bad_number_in_the_throughput_file_is_one_line_naming_it(tmp_path, section, key, value, problem):
    plan = Plan(small_config(["2e"]), root=ROOT, config_path="small.yaml")
    path = write_throughput(tmp_path / "speed.yaml", plan)
    data = yaml.safe_load(path.read_text())
    entry = data[section][0] if isinstance(data[section], list) else data[section]
    entry[key] = value
    path.write_text(yaml.safe_dump(data))
    where = {"models": f"models entry 1 (model {entry.get('model')})",
             "loaders": "loaders entry 1 (split train)"}.get(section, section)
    with pytest.raises(ConfigError) as error:
        Throughput(path, "measure")
    assert str(error.value) == (f"{path}: {where}: {key} is {value!r}, {problem}; correct it, or measure the file "
                                "again with `measure`")


def test_a_bad_throughput_file_fails_the_dry_run_with_its_line(tmp_path):
    """The training jobs' time limits read the throughput file when the DAG is built: a NaN speed stops the dry run
    with the line naming the file and the model, not with `cannot convert float NaN to integer`."""
    work = workflow_copy(tmp_path)
    path = work / "config/throughput/cpu-amd-epyc.yaml"
    data = yaml.safe_load(path.read_text())
    index, row = next((index, row) for index, row in enumerate(data["models"]) if row["model"].startswith("tsn-"))
    row["train_clips_per_s"] = math.nan  # Table 2e trains TSN
    path.write_text(yaml.safe_dump(data))
    result = snakemake(work, "-n", "table2e")
    assert result.returncode != 0
    assert (f"config/throughput/cpu-amd-epyc.yaml: models entry {index + 1} (model {row['model']}): "
            "train_clips_per_s is nan, not a positive number; correct it, or measure the file again with "
            "`python benchmarks/bench_throughput.py") in result.stdout + result.stderr


def test_train_runtime_comes_from_the_estimate(tmp_path):
    work = workflow_copy(tmp_path)
    plan = Plan(small_config(["2e"]), root=work, config_path="small.yaml")
    write_throughput(work / "config/slow.yaml", plan, train=0.03, test=1.0, loader=1.0)
    slow = Plan(small_config(["2e"], throughput="config/slow.yaml"), root=work, config_path="small.yaml")
    entry = training(price(cost_plan(slow), Throughput(work / "config/slow.yaml", "m")), "v1_tsn_8f")
    wall_minutes = entry["epochs"] * entry["train_videos"] * (1 / 0.03 + 1 / 1.0) / 60
    assert slow.train_runtime("v1_tsn_8f") == math.ceil(wall_minutes * RUNTIME_MARGIN) > RUNTIME_FLOOR_MINUTES
    # without a throughput file the configuration's own limit
    assert plan.train_runtime("v1_tsn_8f") == plan.resources("train")["runtime"]


def test_train_runtime_falls_back_before_the_data_is_there(tmp_path):
    config = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    for source in config["sources"].values():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                source[key] = str(tmp_path)  # empty: the annotation files are not downloaded yet
    config["imagenet_weights"] = {name: str(ROOT / "README.md") for name in config["imagenet_weights"]}
    plan = Plan(config, root=ROOT, config_path="paper.yaml")
    assert plan.train_runtime("v1_ct_8f") == config["resources"]["train"]["runtime"]


def complete_stand_ins(data):
    """What build_lists would read beyond make_real_annotations' files: the second and third UCF101 / HMDB51
    splits (copies of the first). Mini-Kinetics keeps its id lists alone, as released: its rows are
    Kinetics-400's CSVs."""
    ucf = data / "ucf101/annotations"
    for split in (2, 3):
        shutil.copy(ucf / "trainlist01.txt", ucf / f"trainlist0{split}.txt")
        shutil.copy(ucf / "testlist01.txt", ucf / f"testlist0{split}.txt")
        for path in (data / "hmdb51/annotations").glob("*_test_split1.txt"):
            shutil.copy(path, path.with_name(path.name.replace("split1", f"split{split}")))


def test_snakemake_cost_prices_the_paper_configuration_in_seconds(tmp_path):
    work = workflow_copy(tmp_path / "repo")
    data = tmp_path / "data"
    make_real_annotations(data)
    complete_stand_ins(data)
    config = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    for source in config["sources"].values():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                source[key] = str(data / source["kind"] / key)
    config["imagenet_weights"] = {name: str(data / "weights" / f"{name}.pth") for name in config["imagenet_weights"]}
    (work / "config/paper-test.yaml").write_text(yaml.safe_dump(config))

    start = time.monotonic()
    result = snakemake(work, "cost", "--cores", "1", "--configfile", "config/paper-test.yaml")
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader((work / "results/tables/cost.csv").open()))
    total = next(row for row in rows if row["section"] == "total")
    print(f"priced in {elapsed:.1f} s: training {float(total['train_hours']):,.0f} GPU-hours, testing "
          f"{float(total['test_hours']):,.0f}, frames {float(total['gigabytes']):,.0f} GB, {total['jobs']} jobs")
    assert elapsed < 90
    plan = Plan(config, root=work)
    assert sum(row["section"] == "training" for row in rows) == len(plan.experiments()) == int(total["trainings"])
    assert int(next(row for row in rows if row["section"] == "jobs" and row["name"] == "train")["jobs"]) == 47
    markdown = (work / "results/tables/cost.md").read_text()
    assert "GPU-hours" in markdown and "(estimate)" in markdown and "estimate:" in markdown
    assert float(total["train_hours"]) > 500 and float(total["gigabytes"]) > 100


# ---------------------------------------------------------------------------------------------- GPUs and memory
def gpu_resources(gpus, **train):
    """The smoke configuration's resources with training jobs of `gpus` GPUs and `train` on top."""
    resources = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())["resources"]
    resources["train"].update(gpu=gpus, cpus_per_task=4 * gpus, **train)
    return resources


def with_memory(path, base, per_clip):
    """The throughput file at `path` with every model's training memory set."""
    document = yaml.safe_load(path.read_text())
    for row in document["models"]:
        row.update(train_gpu_mb_base=base, train_gpu_mb_per_clip=per_clip)
    path.write_text(yaml.safe_dump(document))
    return path


def test_micro_batch_is_the_largest_divisor_of_the_share_that_fits():
    """batch 64 per step; 1,000 MB fixed, 2,000 per clip, GPU_RESERVE_MB for CUDA: a 40 GB GPU holds 19 clips, a
    24 GB one 11, an 80 GB one 39; the official BN batch (micro_batch 8) caps what fits."""
    from ctnet.workflow.gpu_plan import GPU_RESERVE_MB, micro_batch_plan
    row = {"model": "m", "size": 224, "train_gpu_mb_base": 1000, "train_gpu_mb_per_clip": 2000}

    def split(gpus, memory, cap=None):
        plan = micro_batch_plan(64, None, {"gpus": gpus, "gpu_memory_gb": memory, "micro_batch": cap}, row,
                                "speed.yaml", "measure", "exp")
        return plan["per_gpu"], plan["micro_batch"], plan["accumulate"]

    assert (40 * 1024 - GPU_RESERVE_MB - 1000) // 2000 == 19
    assert split(4, 40) == (16, 16, 1)
    assert split(4, 40, cap=8) == (16, 8, 2)
    assert split(1, 24) == (64, 8, 8)            # 11 fit; 8 is the largest divisor of 64 below
    assert split(8, 80, cap=8) == (8, 8, 1)      # the paper's 8 GPUs: no accumulation
    assert split(2, None, cap=8) == (32, 8, 4)
    with pytest.raises(ConfigError, match=r"^speed.yaml: one training clip of model m at 224 px needs 1,000 \+ "
                                          r"2,000 MB \(\+ 1536 MB for CUDA\), more than a GPU of "
                                          r"resources.train.gpu_memory_gb 4 GB holds; use GPUs with more memory"):
        split(1, 4)
    with pytest.raises(ConfigError, match=r"speed.yaml: model m at 224 px has no train_gpu_mb_per_clip and "
                                          r"train_gpu_mb_base .* with `measure`"):
        micro_batch_plan(64, None, {"gpus": 1, "gpu_memory_gb": 24, "micro_batch": None},
                         {"model": "m", "size": 224}, "speed.yaml", "measure", "exp")


def test_cost_table_and_training_get_the_planned_micro_batch_and_time_limit(tmp_path):
    """Batch 8 on 4 GPUs of 5 GB (2 clips fit: 1,000 MB fixed + 1,200 a clip) and on 1: 2 x 1 and 2 x 4 per GPU,
    the time limit of 1 GPU about 4 times that of 4, the training's experiment file gets train.micro_batch 2.
    Without gpu_memory_gb and micro_batch nothing is planned: the experiment files stay as they were."""
    work = workflow_copy(tmp_path)
    plan = Plan(small_config(["2e"]), root=work, config_path="small.yaml")
    with_memory(write_throughput(work / "config/speed.yaml", plan, train=0.02, loader=1000.0), 1000, 1200)
    splits = {}
    for gpus in (4, 1):
        config = small_config(["2e"], throughput="config/speed.yaml",
                              resources=gpu_resources(gpus, gpu_memory_gb=5))
        config["scale"]["data"]["workers"] = 2
        gpu_plan = Plan(config, root=work, config_path="small.yaml")
        entry = training(price(cost_plan(gpu_plan), Throughput(work / "config/speed.yaml", "m")), "v1_tsn_8f")
        splits[gpus] = (entry["per_gpu"], entry["micro_batch"], entry["accumulate"], entry["runtime_minutes"])
        assert gpu_plan.train_runtime("v1_tsn_8f") == entry["runtime_minutes"]
        assert gpu_plan.resolve_train("v1_tsn_8f")["train"]["micro_batch"] == 2
        markdown = render_markdown(price(cost_plan(gpu_plan), Throughput(work / "config/speed.yaml", "m")))
        assert f"| 2 x {entry['accumulate']} |" in markdown
    assert splits[4][:3] == (2, 2, 1) and splits[1][:3] == (8, 2, 4)
    assert splits[1][3] == pytest.approx(4 * splits[4][3], rel=0.05)
    assert "micro_batch" not in plan.resolve_train("v1_tsn_8f").get("train", {})
    with pytest.raises(ConfigError, match=r"one training clip of model .* needs 1,000 \+ 1,200 MB"):
        Plan(small_config(["2e"], throughput="config/speed.yaml", resources=gpu_resources(1, gpu_memory_gb=2)),
             root=work, config_path="small.yaml").resolve_train("v1_tsn_8f")
