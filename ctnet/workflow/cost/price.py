"""The plan's work priced with a throughput file: hours per training and test, per table and in total, and the
training jobs' SLURM time limits and planned micro-batches (`Plan.train_runtime` and the train rule take them).

A job runs as fast as the slower of its devices and its loader (on a CPU job without loader workers the two take
turns). Hours = clips / clips per second.
"""
import math

from ctnet.workflow.cost.jobs import job_resources
from ctnet.workflow.cost.throughput import throughput_path
from ctnet.workflow.cost.work import model_key, work_of
from ctnet.workflow.gpu_plan import micro_batch_plan


# A training job's SLURM time limit: the estimated wall time of one run times this margin (a GFLOPs estimate is
# rough, and checkpoints, contention and a slow node come on top), and never under the floor.
RUNTIME_MARGIN = 1.5
RUNTIME_FLOOR_MINUTES = 10


def job_rate(device_rate, loader_rate, gpus, cpus, workers):
    """(clips/s of one job, what bounds it). With loader workers (`data.workers` per process, one process per GPU,
    at most one core each) the devices and the loaders run side by side and the slower sets the pace; without,
    each process loads a batch, then computes it."""
    processes = max(gpus, 1)
    if not workers:
        return processes / (1 / device_rate + 1 / loader_rate), "device + loader"
    devices, loaders = processes * device_rate, loader_rate * min(cpus, processes * workers)
    return (devices, "device") if devices <= loaders else (loaders, "loader")


def price_training(entry, throughput, resources):
    """The entry with hours: `wall_hours` per run, `device_hours` over every run (GPU- or CPU-core hours)."""
    res = resources["train"]
    row = throughput.model(entry["model"], entry["size"], "train_clips_per_s", entry["experiment"])
    loader = throughput.loader("train", entry["frames"])
    train_rate, bound = job_rate(row["train_clips_per_s"], loader, res["gpus"], res["cpus"], entry["workers"])
    seconds = throughput.startup_seconds["train"] + entry["epochs"] * entry["train_videos"] / train_rate
    if entry["validations"]:
        val_row = throughput.model(entry["model"], entry["size"], "test_clips_per_s", entry["experiment"])
        val_rate, _ = job_rate(val_row["test_clips_per_s"], throughput.loader("test", entry["frames"]),
                               res["gpus"], res["cpus"], entry["workers"])
        seconds += entry["validations"] * entry["val_videos"] / val_rate
    wall = seconds / 3600
    split = micro_batch_plan(entry["batch_size"], entry["micro_batch"], res, row, throughput.path, throughput.command,
                             entry["experiment"])
    return {**entry, **split, "clips_per_s": train_rate, "bound": bound, "source": row["source"],
            "device": row["device"], "device_clips_per_s": row["train_clips_per_s"],
            "loader_clips_per_s_per_core": loader,
            "wall_hours": wall, "device_hours": wall * (res["gpus"] or res["threads"]) * entry["runs"],
            "runtime_minutes": runtime_minutes(wall)}


def price_test(entry, throughput, resources):
    res = resources["test"]
    row = throughput.model(entry["model"], entry["size"], "test_clips_per_s",
                           f"{entry['experiment']}, protocol {entry['protocol']}")
    rate, bound = job_rate(row["test_clips_per_s"], throughput.loader("test", entry["frames"]),
                           res["gpus"], res["cpus"], entry["workers"])
    wall = (throughput.startup_seconds["test"] + entry["val_videos"] * entry["views"] / rate) / 3600
    return {**entry, "clips_per_s": rate, "bound": bound, "source": row["source"], "device": row["device"],
            "wall_hours": wall, "device_hours": wall * (res["gpus"] or res["threads"]) * entry["runs"]}


def runtime_minutes(wall_hours):
    """A training job's time limit for an estimated wall time of one run."""
    return max(RUNTIME_FLOOR_MINUTES, math.ceil(wall_hours * 60 * RUNTIME_MARGIN))


def price(plan_data, throughput):
    """The cost table: priced trainings and tests, per-table sums (shared trainings and tests named), storage,
    jobs and totals."""
    resources = plan_data["resources"]
    trainings = {entry["experiment"]: price_training(entry, throughput, resources)
                 for entry in plan_data["trainings"]}
    tests = {(entry["experiment"], entry["protocol"]): price_test(entry, throughput, resources)
             for entry in plan_data["tests"]}
    users = {}
    for table, needs in plan_data["tables"].items():
        for exp in needs["trainings"]:
            users.setdefault(exp, []).append(table)
    for exp, entry in trainings.items():
        entry["tables"] = users.get(exp, [])
    for (exp, protocol), entry in tests.items():
        entry["tables"] = [table for table, needs in plan_data["tables"].items() if [exp, protocol] in needs["tests"]]
    tables = []
    for table, needs in plan_data["tables"].items():
        own = [trainings[exp] for exp in needs["trainings"]]
        tables.append({
            "table": table,
            "trainings": len(own),
            "shared": sorted(entry["experiment"] for entry in own if len(entry["tables"]) > 1),
            "train_hours": sum(entry["device_hours"] for entry in own),
            "shared_hours": sum(entry["device_hours"] for entry in own if len(entry["tables"]) > 1),
            "tests": len(needs["tests"]),
            "test_hours": sum(tests[tuple(pair)]["device_hours"] for pair in needs["tests"]),
        })
    storage = []
    for entry in plan_data["storage"]:
        gigabytes = None
        if entry["written"] and entry["frames_per_video"]:
            frames = entry["videos"] * entry["frames_per_video"]
            gigabytes = frames * entry["pixels"] * throughput.bytes_per_pixel / 1e9
        storage.append({**entry, "gigabytes": gigabytes})
    return {
        **plan_data,
        "throughput": throughput.path,
        "basis": throughput.basis,
        "frame_bytes": throughput.frame_bytes,
        "loaders": throughput.loaders,
        "startup": throughput.startup,
        "trainings": list(trainings.values()),
        "tests": list(tests.values()),
        "tables": tables,
        "storage": storage,
        "totals": {
            "train_hours": sum(entry["device_hours"] for entry in trainings.values()),
            "test_hours": sum(entry["device_hours"] for entry in tests.values()),
            "gigabytes": sum(entry["gigabytes"] or 0 for entry in storage),
            "jobs": sum(plan_data["jobs"].values()),
        },
    }


def training_time_limit(plan, exp):
    """Minutes one training job of `exp` asks SLURM for: its estimated wall time times RUNTIME_MARGIN, at least
    RUNTIME_FLOOR_MINUTES; before the annotation files are downloaded, from the registry's official video counts
    (Work.videos). Where no estimate can be made (the configuration names no `throughput:` file, or the annotation
    files are there but do not parse), the configuration's `resources.train.runtime`."""
    path = plan.config.get("throughput")
    work = work_of(plan)
    if path is None:
        return plan.resources("train")["runtime"]
    try:
        entry = work.training(exp)
    except (FileNotFoundError, ValueError):
        # build_lists reports the annotation files' problems where they matter; a time limit needs no data.
        return plan.resources("train")["runtime"]
    return price_training(entry, work.throughput(path), job_resources(plan))["runtime_minutes"]


def planned_micro_batch(plan, exp):
    """The `train.micro_batch` a training of `exp` runs with, from `resources.train` (micro_batch, gpu_memory_gb)
    and the throughput file's memory figures (ctnet.workflow.gpu_plan); None where neither resource is set or the
    experiment sets its own, which it keeps. Needs no data: a dry run before the download plans it too."""
    res = job_resources(plan)["train"]
    spec = work_of(plan).spec(exp)
    if spec["train"]["micro_batch"] is not None or (res["micro_batch"] is None and res["gpu_memory_gb"] is None):
        return None
    row, path, command = None, None, None
    if res["gpu_memory_gb"] is not None:
        throughput = work_of(plan).throughput(throughput_path(plan))
        row = throughput.model(model_key(spec["model"]), spec["data"]["train_size"], "train_clips_per_s", exp)
        path, command = throughput.path, throughput.command
    split = micro_batch_plan(spec["train"]["batch_size"], None, res, row, path, command,
                             f"{plan.config_path}: {exp}")
    return split["micro_batch"]
