"""What a configuration's run costs before it runs: device hours of every training and test, frame storage and
SLURM jobs, per experiment and per paper table (`snakemake cost`: results/tables/cost.md and .csv; docs/cost.md).

Torch-free: the Snakefile imports it, and `Plan.train_runtime` takes the training jobs' time limits from it.

Work comes from the plan: a training run does `epochs x training videos` clips, plus, with `train.eval_every`, one
validation pass over the validation videos every that many epochs (one view at training size); a test does
`validation videos x views` clips. Video counts are the annotation files' (read once per source with the dataset's
own parser and no frames, so every annotated video counts: the lists later drop the ones that fail to decode), or
the `generate:` settings of a synthetic source. Speed comes from a throughput file (config/throughput/*.yaml,
written by benchmarks/bench_throughput.py): clips/s of one device per model and crop size, measured or estimated
from GFLOPs, and the data loader's clips/s per CPU core. A job runs as fast as the slower of its devices and its
loader (on a CPU job without loader workers the two take turns). Hours = clips / clips per second.
"""
import hashlib
import math
import os
import weakref
from pathlib import Path

from ctnet import paths
from ctnet.atomic import write_json_atomic, write_text_atomic
from ctnet.cache import number_problem, read_cache
from ctnet.data.registry import dataset_kind, parse_annotations
from ctnet.data.synthetic import VAL_FRACTION, split_sizes
from ctnet.experiment import flatten, resolve_experiment
from ctnet.model_spec import resolve_spec
from ctnet.workflow.gpu_plan import micro_batch_plan
from ctnet.workflow.io import ConfigError, read_yaml
from ctnet.workflow.report import csv_text, markdown_table

# A training job's SLURM time limit: the estimated wall time of one run times this margin (a GFLOPs estimate is
# rough, and checkpoints, contention and a slow node come on top), and never under the floor.
RUNTIME_MARGIN = 1.5
RUNTIME_FLOOR_MINUTES = 10

# Model spec keys that change no computation (initial weights, dropout rate, initialisation): models that differ
# only in them share one throughput row.
COMPUTE_FREE_KEYS = ("pretrained", "dropout", "zero_init_residual")

# Rules whose jobs run as SLURM jobs (the others are localrules of the Snakefile's own process).
CLUSTER_RULES = ("make_synthetic", "extract_frames", "build_lists", "import_weights", "train", "test", "fuse",
                 "count_flops")


def model_key(spec):
    """The throughput file's name for a model: its module, backbone, width and frames, and a digest of every key of
    its complete spec that changes the computation (`CT` variants differ only in the digest)."""
    full = resolve_spec(spec)
    compute = {key: value for key, value in full.items() if key not in COMPUTE_FREE_KEYS}
    digest = hashlib.sha1(repr(sorted(flatten(compute))).encode()).hexdigest()[:8]
    return f"{full['module']}-{full['backbone']}-w{full['base_width']}-{full['num_segments']}f-{digest}"


def measure_command(config_path, device, out):
    """The command that measures a configuration's throughput file."""
    return f"python benchmarks/bench_throughput.py --config {config_path} --device {device} --out {out}"


def device_of(plan):
    """What the configuration's trainings run on: cuda where they ask for GPUs, else cpu."""
    return "cuda" if plan.resources("train").get("gpu", 0) else "cpu"


def throughput_path(plan):
    """The configuration's throughput file (`throughput:`), or one ConfigError line saying how to make one."""
    path = plan.config.get("throughput")
    if path is None:
        raise ConfigError(f"{plan.config_path}: no `throughput:` file to price the run with; measure one with "
                          f"`{measure_command(plan.config_path, device_of(plan), 'config/throughput/mine.yaml')}` "
                          "and set `throughput: config/throughput/mine.yaml`")
    return path


# ---------------------------------------------------------------------------------------------- the work
def synthetic_split(generate):
    """(training, validation) videos of a synthetic source, as make_synthetic splits them."""
    return split_sizes(generate["num_videos"], generate["num_classes"], generate.get("val_fraction", VAL_FRACTION))


class Work:
    """What each training, test and frame folder of a plan amounts to: clips, videos, frames. Annotation files are
    read once per source."""

    def __init__(self, plan):
        self.plan = plan
        self._videos = {}
        self.registry_counts = set()  # sources counted from the registry: no annotation files yet
        self._specs = {}
        self._throughput = {}

    def throughput(self, path):
        """The throughput file at `path` (relative to the plan's root), read once."""
        if path not in self._throughput:
            command = measure_command(self.plan.config_path, device_of(self.plan), path)
            self._throughput[path] = Throughput(path, command, self.plan.root)
        return self._throughput[path]

    def spec(self, exp):
        """The experiment file of `exp` with the engine's and the model spec's defaults filled in."""
        if exp not in self._specs:
            spec = resolve_experiment(self.plan.resolve(exp), source=f"{self.plan.config_path}: {exp}")
            spec["model"] = resolve_spec(spec["model"])
            self._specs[exp] = spec
        return self._specs[exp]

    def videos(self, source):
        """{"train": n, "val": n}: the source's annotated videos."""
        if source not in self._videos:
            spec = self.plan.data.source(source)
            if spec["kind"] == "synthetic":
                train, val = synthetic_split(spec["generate"])
                self._videos[source] = {"train": train, "val": val}
            elif (self.plan.root / self.plan.data.annotations(source)).is_dir():
                self._videos[source] = self._annotated(source, self.plan.root / self.plan.data.annotations(source))
            else:
                # Not downloaded yet: a lab prices the run before it fetches 1.6 TB.
                train, val = dataset_kind(spec["kind"]).official_videos
                self._videos[source] = {"train": train, "val": val}
                self.registry_counts.add(source)
        return self._videos[source]

    def _annotated(self, source, folder):
        """Videos of the annotation files in `folder`, from paths.VIDEO_COUNTS while the files are unchanged."""
        with os.scandir(folder) as entries:
            stamp = sorted([entry.name, entry.stat().st_size, entry.stat().st_mtime_ns] for entry in entries
                           if entry.is_file())
        kind, split = self.plan.data.source(source)["kind"], self.plan.data.split(source)
        key = f"{kind} split {split} {folder.resolve()}"
        cache_path = self.plan.root / paths.VIDEO_COUNTS
        cache = read_cache(cache_path, video_counts_problem) or {}
        if cache.get(key, {}).get("stamp") != stamp:
            # An empty frame index: every annotated video comes back as missing, which is all a count needs.
            splits = parse_annotations(kind, folder, {}, split)
            counts = {name: len(splits.records[name]) + len(splits.missing[name]) for name in ("train", "val")}
            cache[key] = {"stamp": stamp, "videos": counts}
            write_json_atomic(cache_path, cache)
        return cache[key]["videos"]

    def training(self, exp):
        spec = self.spec(exp)
        train = spec["train"]
        videos = self.videos(self.plan.resolver.source_of(exp))
        return {
            "experiment": exp,
            "runs": len(self.plan.runs(exp)),
            "model": model_key(spec["model"]),
            "frames": spec["model"]["num_segments"],
            "size": spec["data"]["train_size"],
            "epochs": train["epochs"],
            "batch_size": train["batch_size"],
            "micro_batch": train["micro_batch"],
            "train_videos": videos["train"],
            "val_videos": videos["val"],
            "validations": train["epochs"] // train["eval_every"] if train["eval_every"] else 0,
            "workers": spec["data"]["workers"],
        }

    def test(self, exp, protocol):
        spec = self.spec(exp)
        proto = spec["protocols"][protocol]
        return {
            "experiment": exp,
            "protocol": protocol,
            "runs": len(self.plan.runs(exp)),
            "model": model_key(spec["model"]),
            "frames": spec["model"]["num_segments"],
            "size": proto["size"],
            "views": self.plan.views(protocol),
            "val_videos": self.videos(self.plan.resolver.source_of(exp))["val"],
            "workers": spec["data"]["workers"],
        }

    def frames_folder(self, owner):
        """The frame folder of source `owner`: its videos and frames per video, and the pixels of one frame; for
        frames the dataset ships (`frames:`), nothing is written."""
        spec = self.plan.data.source(owner)
        entry = {"source": owner, "written": self.plan.data.extracted(owner)}
        if not entry["written"]:
            return entry
        counts = self.videos(owner)
        entry["videos"] = counts["train"] + counts["val"]
        short_side = self.plan.data.short_side(owner)
        if spec["kind"] == "synthetic":
            side = short_side or spec["generate"]["size"]
            entry.update(frames_per_video=spec["generate"]["frames"], pixels=side * side, basis="generated")
        elif dataset_kind(spec["kind"]).typical_video and short_side:
            frames, aspect = dataset_kind(spec["kind"]).typical_video
            entry.update(frames_per_video=frames, pixels=round(short_side * short_side * aspect), basis="assumed")
        else:
            entry.update(frames_per_video=None, pixels=None, basis="unknown")
        return entry


def video_counts_problem(cache):
    """What is wrong with the video counts cached in paths.VIDEO_COUNTS (Work._annotated), or None: per annotation
    folder its files' stamp and whole, non-negative counts of training and validation videos."""
    if not isinstance(cache, dict):
        return "not a mapping of annotation folders"
    for key, entry in cache.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("stamp"), list)
                and isinstance(entry.get("videos"), dict) and set(entry["videos"]) == {"train", "val"}):
            return f"{key}: not a stamp with train and val counts"
        for name, count in entry["videos"].items():
            problem = number_problem(count, zero_ok=True, integer=True)
            if problem:
                return f"{key}: {name} videos {count!r}, {problem}"
    return None


_WORK = weakref.WeakKeyDictionary()


def work_of(plan):
    """The plan's `Work`, made once: the annotation files are read once per plan however many jobs ask."""
    if plan not in _WORK:
        _WORK[plan] = Work(plan)
    return _WORK[plan]


# ---------------------------------------------------------------------------------------------- the plan's cost
def trainings_of(plan, tables):
    """The trainings the tables need: the training serving each tested experiment (not for imported weights),
    and the trainings they fine-tune from (`init_from`), which may belong to no table of their own."""
    needed, todo = set(), [exp for exp in plan.experiments(tables) if exp not in plan.given_weights]
    while todo:
        trained = plan.trained_as(todo.pop())
        if trained not in needed:
            needed.add(trained)
            parent = plan.catalogue["experiments"][trained].get("init_from")
            if parent is not None and parent not in plan.given_weights:
                todo.append(parent)
    return sorted(needed)


def cluster_jobs(plan, trainings, tests):
    """SLURM jobs per rule, as the plan creates them: one per extraction shard, source list, training run, test
    run, fusion run and imported checkpoint, and one job for every FLOPs count (localrules are left out)."""
    sources = {plan.resolver.source_of(exp) for exp in trainings}
    sources |= {plan.resolver.source_of(exp) for exp, _ in tests}
    owners = {plan.data.frames_source(source) for source in sources}
    extracted = [owner for owner in owners if plan.data.extracted(owner)]
    jobs = {
        "make_synthetic": sum(plan.data.source(owner)["kind"] == "synthetic" for owner in extracted),
        "extract_frames": sum(len(plan.data.shard_manifests(owner)) for owner in extracted),
        "build_lists": len(sources),
        "import_weights": len({exp for exp, _ in tests if exp in plan.given_weights}),
        "train": sum(len(plan.runs(exp)) for exp in trainings),
        "test": sum(len(plan.runs(exp)) for exp, _ in tests),
        "fuse": sum(len(plan.ensemble_runs(ens)) for ens in plan.ensembles()),
        "count_flops": int(bool(plan.flops_counts())),
    }
    return {rule: jobs[rule] for rule in CLUSTER_RULES}, sorted(owners)


def throughput_needs(plan):
    """The throughput rows that pricing the plan reads, (model key, crop size) -> how to measure them: the first
    experiment asking, its model spec and class count, the engine's settings (batch per device, autocast,
    channels-last, optimiser, determinism) and which figures (`train`, `test`) are read."""
    work = work_of(plan)
    devices = max(1, plan.resources("train").get("gpu", 0))
    needs = {}

    def need(exp, size, figure, test_batch=None):
        spec = work.spec(exp)
        train = spec["train"]
        row = needs.setdefault((model_key(spec["model"]), size), {
            "experiment": exp, "model": spec["model"], "num_classes": plan.resolver.paper_model(exp)[1],
            "train_batch": train["batch_size"] // devices, "test_batch": None, "amp": train["amp"],
            "channels_last": train["channels_last"], "optimizer": train["optimizer"],
            "deterministic": train["deterministic"], "figures": []})
        if figure not in row["figures"]:
            row["figures"].append(figure)
        row["test_batch"] = row["test_batch"] or test_batch

    for exp in trainings_of(plan, plan.tables):
        spec = work.spec(exp)
        need(exp, spec["data"]["train_size"], "train")
        if spec["train"]["eval_every"]:
            need(exp, spec["data"]["train_size"], "test")
    for exp, protocol in plan.test_jobs(plan.tables):
        proto = work.spec(exp)["protocols"][protocol]
        need(exp, proto["size"], "test", proto["views_per_batch"])
    for row in needs.values():
        # Validation inside a training takes the trainer's per-process batch as its views per batch.
        row["test_batch"] = row["test_batch"] or row["train_batch"]
    return needs


def job_resources(plan):
    """GPUs, CPUs and threads of one training job and one test job (`resources:` of the configuration)."""
    resources = {}
    for rule in ("train", "test"):
        res = plan.resources(rule)
        threads = res.get("threads", 1)
        resources[rule] = {"gpus": res.get("gpu", 0), "cpus": res.get("cpus_per_task", threads), "threads": threads}
    # what the micro-batch of a training is planned with (ctnet.workflow.gpu_plan)
    train = plan.resources("train")
    resources["train"].update(micro_batch=train.get("micro_batch"), gpu_memory_gb=train.get("gpu_memory_gb"))
    return resources


def cost_plan(plan):
    """Everything the cost table needs from the plan, as plain data (paths.COST_PLAN)."""
    work = work_of(plan)
    tables = {table: {"trainings": trainings_of(plan, [table]),
                      "tests": [list(pair) for pair in plan.test_jobs([table])]}
              for table in plan.tables}
    trainings = sorted({exp for table in tables.values() for exp in table["trainings"]})
    tests = plan.test_jobs(plan.tables)
    jobs, owners = cluster_jobs(plan, trainings, tests)
    config = Path(plan.config_path)
    if config.is_absolute() and config.is_relative_to(plan.root.resolve()):
        config = config.relative_to(plan.root.resolve())  # as Snakemake's --configfile gives it: absolute
    return {
        "config": str(config),
        "description": plan.config.get("description", ""),
        "device": device_of(plan),
        "seeds": len(plan.seeds),
        "resources": job_resources(plan),
        "tables": tables,
        "trainings": [work.training(exp) for exp in trainings],
        "tests": [work.test(exp, protocol) for exp, protocol in tests],
        "storage": [work.frames_folder(owner) for owner in owners],
        "jobs": jobs,
        # Last: the entries above count the videos.
        "videos_from_registry": sorted(work.registry_counts),
    }


# ---------------------------------------------------------------------------------------------- the throughput
class Throughput:
    """A throughput file: per (model, crop size) a device's training and test clips/s, the data loader's clips/s
    per CPU core per split and frame count, the bytes of one extracted frame, and the seconds a training and a
    test job spend starting (Python, torch, the engine) before their first clip."""

    def __init__(self, path, command, root="."):
        self.path = str(path)
        self.command = command  # what measures the file again, for the errors
        data = read_yaml(Path(root) / path)
        for key, kind in (("models", list), ("loaders", list), ("frame_bytes", dict), ("startup", dict)):
            if not isinstance(data, dict) or not isinstance(data.get(key), kind):
                raise ConfigError(f"{self.path}: `{key}:` is missing or not a {kind.__name__}; write the file with "
                                  f"`{self.command}`")
        self.basis = data.get("basis", "")
        # A model's speeds are null where the configuration that measured the file asked for none. A job may start
        # in no time, but every other figure is above zero: a speed of 0 prices a run as never ending, a negative
        # one at negative hours (that the time limit's floor would hide).
        rows = [self._checked(f"models entry {index + 1}", row, ["size"], ["train_clips_per_s", "test_clips_per_s"],
                              name="model") for index, row in enumerate(data["models"])]
        self.models = {(row["model"], row["size"]): row for row in rows}
        self.loaders = [self._checked(f"loaders entry {index + 1}", row, ["frames", "clips_per_s_per_core"],
                                      name="split") for index, row in enumerate(data["loaders"])]
        self.frame_bytes = self._checked("frame_bytes", data["frame_bytes"], ["frame_side", "bytes_per_frame"])
        seconds = ["train_seconds", "test_seconds"]
        self.startup = self._checked("startup", data["startup"], seconds, zero_ok=seconds)
        self.bytes_per_pixel = self.frame_bytes["bytes_per_frame"] / self.frame_bytes["frame_side"] ** 2
        self.startup_seconds = {job: self.startup[f"{job}_seconds"] for job in ("train", "test")}

    def _checked(self, where, entry, required, optional=(), zero_ok=(), name=None):
        """`entry`, a mapping of the file, checked: its `required` keys and its `name` key (whose value names the
        entry in the errors) are there, and its `required` figures, its `optional` ones that are not null and every
        other number in it are finite and above zero (or zero, for keys of `zero_ok`). Else one ConfigError line
        naming the file, the entry, the value and the fix."""
        if not isinstance(entry, dict):
            raise ConfigError(f"{self.path}: {where} is not a mapping; write the file with `{self.command}`")
        for key in [*required, name] if name else required:
            if key not in entry:
                raise ConfigError(f"{self.path}: {where} has no `{key}:`; write the file with `{self.command}`")
        if name:
            where += f" ({name} {entry[name]})"
        for key, value in entry.items():
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if is_number or key in required or key in optional and value is not None:
                problem = number_problem(value, zero_ok=key in zero_ok)
                if problem:
                    raise ConfigError(f"{self.path}: {where}: {key} is {value!r}, {problem}; correct it, or measure "
                                      f"the file again with `{self.command}`")
        return entry

    def model(self, key, size, figure, needed_by):
        """A model row whose `figure` (train_clips_per_s or test_clips_per_s) is known, or one ConfigError line
        naming the model and the command that measures it."""
        row = self.models.get((key, size))
        if row is None or row.get(figure) is None:
            raise ConfigError(f"{self.path}: no {figure} for model {key} at {size} px (experiment {needed_by}); "
                              f"measure it with `{self.command}`")
        return row

    def loader(self, split, frames):
        """Clips/s per CPU core of the `split` loader for clips of `frames` frames: the measured frame count nearest
        to it, scaled by the frames (decoding dominates and grows with them)."""
        rows = [row for row in self.loaders if row["split"] == split]
        if not rows:
            raise ConfigError(f"{self.path}: no {split} loader figures; measure them with `{self.command}`")
        nearest = min(rows, key=lambda row: abs(row["frames"] - frames))
        return nearest["clips_per_s_per_core"] * nearest["frames"] / frames


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
    RUNTIME_FLOOR_MINUTES. Where no estimate can be made (the configuration names no `throughput:` file, or the
    dataset's annotation files are not there yet, as in a dry run before the download), the configuration's
    `resources.train.runtime`."""
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


# ---------------------------------------------------------------------------------------------- the table
CSV_COLUMNS = ("section", "name", "protocol", "tables", "shared", "runs", "trainings", "tests", "model", "frames",
               "size", "epochs", "videos", "views", "frames_per_video", "micro_batch", "accumulate", "clips_per_s",
               "bound", "figures", "unit",
               "train_hours", "test_hours", "runtime_minutes", "gigabytes", "jobs")


def hours_unit(resources, rule):
    return "GPU-hours" if resources[rule]["gpus"] else "CPU-hours"


def number(value):
    """A figure for the table: thousands separated from 100 on, three significant digits below."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def labelled(value, sources):
    """An hours figure with `(estimate)` when any row behind it is an estimate: never shown as measured."""
    return number(value) + (" (estimate)" if "estimate" in sources else "")


def csv_rows(cost):
    """The cost table as CSV rows (dicts over CSV_COLUMNS)."""
    resources = cost["resources"]
    rows = []
    for entry in cost["trainings"]:
        rows.append({"section": "training", "name": entry["experiment"], "tables": " ".join(entry["tables"]),
                     "runs": entry["runs"], "model": entry["model"], "frames": entry["frames"], "size": entry["size"],
                     "epochs": entry["epochs"], "videos": entry["train_videos"], "micro_batch": entry["micro_batch"],
                     "accumulate": entry["accumulate"], "clips_per_s": entry["clips_per_s"],
                     "bound": entry["bound"], "figures": entry["source"], "unit": hours_unit(resources, "train"),
                     "train_hours": entry["device_hours"], "runtime_minutes": entry["runtime_minutes"]})
    for entry in cost["tests"]:
        rows.append({"section": "test", "name": entry["experiment"], "protocol": entry["protocol"],
                     "tables": " ".join(entry["tables"]), "runs": entry["runs"], "model": entry["model"],
                     "frames": entry["frames"], "size": entry["size"], "videos": entry["val_videos"],
                     "views": entry["views"], "clips_per_s": entry["clips_per_s"], "bound": entry["bound"],
                     "figures": entry["source"], "unit": hours_unit(resources, "test"),
                     "test_hours": entry["device_hours"]})
    for table in cost["tables"]:
        rows.append({"section": "table", "name": table["table"], "shared": " ".join(table["shared"]),
                     "trainings": table["trainings"], "tests": table["tests"], "train_hours": table["train_hours"],
                     "test_hours": table["test_hours"]})
    for entry in cost["storage"]:
        rows.append({"section": "storage", "name": entry["source"], "videos": entry.get("videos"),
                     "frames_per_video": entry.get("frames_per_video"), "figures": entry.get("basis", "given"),
                     "gigabytes": entry["gigabytes"]})
    for rule, count in cost["jobs"].items():
        rows.append({"section": "jobs", "name": rule, "jobs": count})
    totals = cost["totals"]
    rows.append({"section": "total", "name": "all tables", "trainings": len(cost["trainings"]),
                 "tests": len(cost["tests"]),
                 "train_hours": totals["train_hours"], "test_hours": totals["test_hours"],
                 "gigabytes": totals["gigabytes"], "jobs": totals["jobs"]})
    return rows


def loader_section(cost):
    """Lines on whether the training jobs' CPUs keep their GPUs fed: per clip length, the fastest model's
    training clips/s on one GPU against the loader's clips/s per core."""
    train = cost["resources"]["train"]
    if not train["gpus"]:
        return [f"CPU jobs: loading shares the job's {train['threads']} thread(s) with the model (data.workers 0 "
                "loads between steps); the hours above include it."]
    rows = []
    for frames in sorted({entry["frames"] for entry in cost["trainings"]}):
        entries = [entry for entry in cost["trainings"] if entry["frames"] == frames]
        fastest = max(entries, key=lambda entry: entry["device_clips_per_s"])
        needed = fastest["device_clips_per_s"] / fastest["loader_clips_per_s_per_core"]
        rows.append([frames, f"{number(fastest['device_clips_per_s'])} ({fastest['source']})",
                     number(fastest["loader_clips_per_s_per_core"]), f"{needed:.1f}",
                     f"{train['cpus'] / train['gpus']:g}"])
    lines = markdown_table(["frames", "fastest model, training clips/s per GPU", "loader clips/s per core",
                            "cores one GPU needs", "cores per GPU here"], rows)
    loaders = sorted({f"{row['cpu']} ({row['frame_side']} px frames)" for row in cost["loaders"]})
    lines.append(f"\nLoader figures measured on one core of {', '.join(loaders)}. A training whose loader is slower "
                 "than its GPUs shows `loader` under *bound by* below, and its hours are the loader's.")
    return lines


def render_markdown(cost):
    """The cost table in Markdown (results/tables/cost.md)."""
    resources, totals = cost["resources"], cost["totals"]
    train_unit, test_unit = hours_unit(resources, "train"), hours_unit(resources, "test")
    train_sources = {entry["source"] for entry in cost["trainings"]}
    test_sources = {entry["source"] for entry in cost["tests"]}
    seeds = cost["seeds"]
    out = [f"# What {cost['config']} costs", "", cost["description"], "",
           f"Speed: `{cost['throughput']}` ({cost['basis']}). Hours are device hours (GPU-hours: wall time x GPUs "
           "of the job)" + ("; figures marked (estimate) rest on estimated speeds, not measured ones"
                            if "estimate" in train_sources | test_sources else "") +
           ". Video counts are those of the annotation files (or of the synthetic source's `generate:`)" +
           (f"; for {', '.join(cost['videos_from_registry'])}, whose annotation files are not there yet, the "
            "official release's (ctnet/data/registry.py), an estimate" if cost.get("videos_from_registry") else "") +
           ". Every "
           f"job's hours include its start-up (Python, torch, the engine): {cost['startup']['train_seconds']:g} s "
           f"a training, {cost['startup']['test_seconds']:g} s a test, measured on {cost['startup']['cpu']}. How "
           "each figure is computed: docs/cost.md.", "",
           f"One training job: {resources['train']['gpus']} GPU(s), {resources['train']['cpus']} CPU(s); one test "
           f"job: {resources['test']['gpus']} GPU(s), {resources['test']['cpus']} CPU(s); {seeds} seed(s), every "
           "training and test once per seed.", "", "## Totals", "",
           *markdown_table(["", "hours", "jobs"], [
               [f"training ({len(cost['trainings'])} trainings)",
                f"{labelled(totals['train_hours'], train_sources)} {train_unit}", cost["jobs"]["train"]],
               [f"testing ({len(cost['tests'])} tests)", f"{labelled(totals['test_hours'], test_sources)} {test_unit}",
                cost["jobs"]["test"]],
               ["frame storage", f"{number(totals['gigabytes'])} GB", ""],
               ["jobs (every rule)", "", totals["jobs"]]]),
           "", "## Per table", "",
           "Each table as if built alone; a training that several tables need counts once in the totals, and its "
           "table rows name it under *shared*.", ""]
    rows = [[table["table"], table["trainings"], labelled(table["train_hours"], train_sources),
             number(table["shared_hours"]), table["tests"], labelled(table["test_hours"], test_sources),
             ", ".join(table["shared"]) or "-"] for table in cost["tables"]]
    rows.append(["all tables, each once", len(cost["trainings"]), labelled(totals["train_hours"], train_sources), "",
                 len(cost["tests"]), labelled(totals["test_hours"], test_sources), ""])
    out += markdown_table(["table", "trainings", f"training {train_unit}", "of it shared", "tests",
                           f"testing {test_unit}", "shared"], rows)
    out += ["", "## Data loading", "", *loader_section(cost), "", "## Trainings", "",
            "Per GPU: its clips of a step as micro-batch x accumulation steps (docs/cluster.md).", ""]
    rows = [[entry["experiment"], ", ".join(entry["tables"]), entry["model"], entry["frames"], entry["size"],
             f"{entry['epochs']} x {entry['train_videos']:,}", entry["validations"],
             f"{entry['micro_batch']} x {entry['accumulate']}", number(entry["clips_per_s"]), entry["bound"],
             number(entry["device_hours"]), entry["runtime_minutes"], entry["source"]] for entry in cost["trainings"]]
    out += markdown_table(["experiment", "tables", "model", "frames", "crop", "epochs x videos", "validations",
                           "per GPU", "clips/s per job", "bound by", train_unit, "time limit (min)", "speed"], rows)
    rows = [[entry["experiment"], entry["protocol"], ", ".join(entry["tables"]),
             f"{entry['views']} x {entry['val_videos']:,}", number(entry["clips_per_s"]), entry["bound"],
             number(entry["device_hours"]), entry["source"]] for entry in cost["tests"]]
    out += ["", "## Tests", "", *markdown_table(["experiment", "protocol", "tables", "views x videos",
                                                 "clips/s per job", "bound by", test_unit, "speed"], rows)]
    frame = cost["frame_bytes"]
    out += ["", "## Frame storage", "",
            f"JPEG bytes per pixel measured on {frame['frame_side']} px synthetic frames "
            f"({frame['bytes_per_frame']:,} bytes a frame, {frame['cpu']}), times the pixels of a source's frames. "
            "*assumed*: frames per video and aspect from the dataset's typical clip length and frame rate "
            "(docs/cost.md); *given*: frames the dataset ships, which the workflow reads where they are.", ""]
    rows = [[entry["source"], f"{entry['videos']:,}" if "videos" in entry else "-",
             entry.get("frames_per_video") or "-", number(entry["gigabytes"]) if entry["written"] else "-",
             entry.get("basis", "given")] for entry in cost["storage"]]
    out += markdown_table(["source", "videos", "frames per video", "GB", "basis"], rows)
    out += ["", "## Jobs", "",
            "SLURM jobs under `--profile slurm` (localrules, which run in Snakemake's own process, left out).", ""]
    rows = [[rule, f"{count:,}"] for rule, count in cost["jobs"].items()] + [["all", f"{totals['jobs']:,}"]]
    out += markdown_table(["rule", "jobs"], rows)
    return "\n".join(out) + "\n"


def write_cost(cost, csv_path, md_path):
    write_text_atomic(csv_path, csv_text(CSV_COLUMNS, csv_rows(cost)))
    write_text_atomic(md_path, render_markdown(cost))
