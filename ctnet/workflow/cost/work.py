"""The work of a plan, as plain data (paths.COST_PLAN): its trainings, tests, frame folders and SLURM jobs, and the
throughput rows that pricing it reads.

Work comes from the plan: a training run does `epochs x training videos` clips, plus, with `train.eval_every`, one
validation pass over the validation videos every that many epochs (one view at training size); a test does
`validation videos x views` clips. Video counts are the annotation files' (read once per source with the dataset's
own parser and no frames, so every annotated video counts: the lists later drop the ones that fail to decode), or
the `generate:` settings of a synthetic source.
"""
import hashlib
import os
import weakref
from pathlib import Path

from ctnet import paths
from ctnet.atomic import write_json_atomic
from ctnet.cache import number_problem, read_cache
from ctnet.data.registry import dataset_kind, parse_annotations
from ctnet.data.synthetic import VAL_FRACTION, split_sizes
from ctnet.experiment import flatten, resolve_experiment
from ctnet.model_spec import resolve_spec
from ctnet.workflow.cost.jobs import cluster_jobs, job_resources
from ctnet.workflow.cost.throughput import Throughput, device_of, measure_command


# Model spec keys that change no computation (initial weights, dropout rate, initialisation): models that differ
# only in them share one throughput row.
COMPUTE_FREE_KEYS = ("pretrained", "dropout", "zero_init_residual")


def model_key(spec):
    """The throughput file's name for a model: its module, backbone, width and frames, and a digest of every key of
    its complete spec that changes the computation (`CT` variants differ only in the digest)."""
    full = resolve_spec(spec)
    compute = {key: value for key, value in full.items() if key not in COMPUTE_FREE_KEYS}
    digest = hashlib.sha1(repr(sorted(flatten(compute))).encode()).hexdigest()[:8]
    return f"{full['module']}-{full['backbone']}-w{full['base_width']}-{full['num_segments']}f-{digest}"


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
        """Videos of the annotation files in `folder` (and, for Mini-Kinetics-200, the Kinetics-400 CSVs its id
        lists select from: `DataSources.rows_annotations`), from paths.VIDEO_COUNTS while the files are unchanged."""
        rows = [self.plan.root / path for path in self.plan.data.rows_annotations(source)]
        stamp = []
        for where in (folder, *rows):
            with os.scandir(where) as entries:
                stamp += sorted([entry.name, entry.stat().st_size, entry.stat().st_mtime_ns] for entry in entries
                                if entry.is_file())
        kind, split = self.plan.data.source(source)["kind"], self.plan.data.split(source)
        key = f"{kind} split {split} {folder.resolve()}"
        cache_path = self.plan.root / paths.VIDEO_COUNTS
        cache = read_cache(cache_path, video_counts_problem) or {}
        if cache.get(key, {}).get("stamp") != stamp:
            # An empty frame index: every annotated video comes back as missing, which is all a count needs.
            splits = parse_annotations(kind, folder, {}, split, rows[0] if rows else None)
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
