"""The workflow plan: which data, experiments, tests, ensembles, FLOPs counts and tables a configuration needs.

`Plan` turns the configuration (config/config.yaml, smoke.yaml or paper.yaml), the experiment catalogue
(config/experiments.yaml) and the table specs (config/tables/*.yaml) into the resolved experiment files of
docs/experiment.md and the file lists the Snakemake rules ask for. The Snakefile stays a thin layer over it.

Paths follow one layout under results/:
    data/<source>/{videos,annotations,frames,lists}/   experiments/{,train/}<exp>.yaml   train/<exp>/final.pt
    checkpoints/<exp>/   scores/<exp>/<protocol>.{npz,json}   fused/<ens>.{npz,json}
    experiments/flops/<model>.yaml   flops/<model>_<size>.json   tables/<table>.{csv,md}   figures/
"""
import copy
import math
from pathlib import Path

from ctnet.experiment import ExperimentError, flatten, resolve_experiment
from ctnet.workflow.config import (DEFAULT_EXPERIMENTS, DEFAULT_TABLES_DIR, ConfigError, deep_merge, load_catalogue,
                                   load_config, load_tables)

RESULTS = "results"
# Training time relative to ResNet-50 (per-clip GFLOPs at the same width and frames, rounded up).
BACKBONE_COST = {"resnet26": 0.6, "resnet50": 1.0, "resnet101": 2.0, "inception_v3": 1.1}
# The experiment file's defaults (docs/experiment.md) that the workflow sets explicitly.
PAPER_TRAIN_SIZE = 256
DEFAULT_FILENAME_TMPL = "img_{:05d}.jpg"


class Plan:
    """Everything the rules need, computed once when Snakemake parses the workflow."""

    def __init__(self, config, root=".", source="config/config.yaml"):
        self.root = Path(root)
        self.config_path = source
        self.config = load_config(config, self.root, source)
        self.catalogue = load_catalogue(config.get("experiments", DEFAULT_EXPERIMENTS), self.root)
        self.specs = load_tables(config.get("tables_dir", DEFAULT_TABLES_DIR), self.root, self.catalogue)
        self.tables = list(config.get("tables", self.specs))
        for table in self.tables:
            if table not in self.specs:
                raise ConfigError(f"{source}: tables: no spec for table {table!r}; "
                                  f"choose from {', '.join(self.specs)}")
        self.skipped = set(config.get("skip_experiments", []))
        for name in self.skipped:
            if name not in self.catalogue["experiments"]:
                raise ConfigError(f"{source}: skip_experiments: no experiment named {name!r} in the catalogue")
        self._check_datasets_mapped()
        self._check_init_not_skipped()
        self._check_protocols()
        self._flops_keys = self._assign_flops_keys()
        self._training_keys = None
        self._check_experiments()

    # ------------------------------------------------------------------ what the tables need
    def _rows(self, tables):
        for table in tables:
            for row in self.specs[table]["rows"]:
                yield table, row

    def _row_evaluations(self, row):
        """(scores file, its (experiment, protocol) members) pairs whose numbers a row averages: one for an
        experiment or an ensemble, one per split for `mean_over`; none for quoted rows."""
        if "experiment" in row:
            return [(self.scores(row["experiment"], row["protocol"]), [(row["experiment"], row["protocol"])])]
        if "ensemble" in row:
            members = self.catalogue["ensembles"][row["ensemble"]]["members"]
            return [(self.ensemble_scores(row["ensemble"]), [(m["experiment"], m["protocol"]) for m in members])]
        return [(self.scores(exp, row["protocol"]), [(exp, row["protocol"])]) for exp in row.get("mean_over", [])]

    def _row_members(self, row):
        """(experiment, protocol) pairs a row's numbers come from; empty for quoted rows."""
        return [member for _, members in self._row_evaluations(row) for member in members]

    def row_is_run(self, row):
        """False for quoted rows and rows citing an experiment this configuration skips."""
        members = self._row_members(row)
        return bool(members) and not any(exp in self.skipped for exp, _ in members)

    def tests(self, tables=None):
        """Sorted (experiment, protocol) pairs the given tables (default: all_tables') evaluate."""
        pairs = set()
        for _, row in self._rows(tables or self.tables):
            if self.row_is_run(row):
                pairs.update(self._row_members(row))
        return sorted(pairs)

    def experiments(self, tables=None):
        return sorted({exp for exp, _ in self.tests(tables)})

    def ensembles(self, tables=None):
        return sorted({row["ensemble"] for _, row in self._rows(tables or self.tables)
                       if "ensemble" in row and self.row_is_run(row)})

    def _check_datasets_mapped(self):
        for exp in self.experiments(list(self.specs)):
            dataset = self.catalogue["experiments"][exp]["dataset"]
            if dataset not in self.config["datasets"]:
                raise ConfigError(f"{self.config_path}: datasets: paper dataset {dataset!r} (experiment {exp}) is not "
                                  f"mapped to a source; add `{dataset}: <source>` or skip the experiment")

    def _check_init_not_skipped(self):
        for exp in self.experiments():
            source = self.catalogue["experiments"][exp].get("init_from")
            if source in self.skipped:
                raise ConfigError(f"{self.config_path}: skip_experiments: {source} is skipped but {exp} fine-tunes "
                                  f"its weights (init_from); skip {exp} too, or train {source}")

    def _check_protocols(self):
        """A TSN-style `twice` protocol needs sparse sampling (scripts/test.py refuses it otherwise)."""
        for exp, protocol in self.tests(list(self.specs)):
            entry = self.catalogue["experiments"][exp]
            sampling = deep_merge(self.catalogue["paper_datasets"][entry["dataset"]].get("data", {}),
                                  entry.get("data", {})).get("sampling", "sparse")
            if self.catalogue["protocols"][protocol].get("clip_sampling") == "twice" and sampling == "dense":
                raise ConfigError(f"config/tables: experiment {exp} samples densely but is tested with protocol "
                                  f"{protocol} (clip_sampling: twice); use a protocol with clip_sampling: uniform")

    def _check_experiments(self):
        """Every experiment the run trains or tests, resolved and checked as the engine will: a bad value stops
        the plan (a dry run included) rather than a job, which would also cost the outputs Snakemake removes."""
        for exp in self.experiments():
            try:
                resolve_experiment(self.resolve(exp), source=f"experiment {exp}")
            except ExperimentError as err:
                raise ConfigError(f"{self.config_path}: {err}; fix the value in the configuration (scale:) or in "
                                  f"{self.config.get('experiments', DEFAULT_EXPERIMENTS)}") from None

    # ------------------------------------------------------------------ data
    def source_of(self, dataset):
        return self.config["datasets"][dataset]

    def source(self, name):
        return self.config["sources"][name]

    def data_dir(self, name):
        return f"{RESULTS}/data/{name}"

    def videos(self, name):
        spec = self.source(name)
        return spec.get("videos", f"{self.data_dir(name)}/videos")

    def annotations(self, name):
        spec = self.source(name)
        return spec.get("annotations", f"{self.data_dir(name)}/annotations")

    def frames_source(self, name):
        """The source whose frame folder `name` reads (itself unless `frames_from`)."""
        return self.source(name).get("frames_from", name)

    def frames_root(self, name):
        spec = self.source(self.frames_source(name))
        return spec.get("frames", f"{self.data_dir(self.frames_source(name))}/frames")

    def extracted(self, name):
        """True when the workflow extracts this source's frames (it has videos, not ready frames)."""
        spec = self.source(name)
        return "frames" not in spec and "frames_from" not in spec

    def num_shards(self, name):
        return self.source(name).get("shards", 1)

    def shard_manifests(self, name):
        """The extraction jobs' outputs: one manifest per shard in the shared frame folder, named as
        scripts/extract_frames.py names them (manifest.csv for one shard, else manifest.shard-I-of-N.csv)."""
        shards, root = self.num_shards(name), f"{self.data_dir(name)}/frames"
        if shards == 1:
            return [f"{root}/manifest.csv"]
        return [f"{root}/manifest.shard-{i}-of-{shards}.csv" for i in range(shards)]

    def shard_arg(self, name, suffix):
        """extract_frames.py's --shard I/N for the manifest suffix '' or '.shard-I-of-N'."""
        if not suffix:
            return "0/1"
        index, count = suffix[len(".shard-"):].split("-of-")
        return f"{index}/{count}"

    def extraction_options(self, name):
        """extract_frames.py's --max-failed-fraction where the source sets max_failed_fraction, else nothing."""
        fraction = self.source(name).get("max_failed_fraction")
        return "" if fraction is None else f"--max-failed-fraction {fraction}"

    def lists_format(self, name):
        """build_lists.py's --dataset: the synthetic dataset is written in Something-Something V2's format."""
        kind = self.source(name)["kind"]
        return "sthv2" if kind == "synthetic" else kind

    def frames_ready(self, name):
        """What the list builder waits for: the shard manifests, or the given frame folder."""
        frames_name = self.frames_source(name)
        if self.extracted(frames_name):
            return self.shard_manifests(frames_name)
        return [self.frames_root(name)]

    def lists(self, name):
        lists = f"{self.data_dir(name)}/lists"
        return {"train": f"{lists}/train.txt", "val": f"{lists}/val.txt", "classes": f"{lists}/classes.txt"}

    # ------------------------------------------------------------------ experiments
    def experiment_inputs(self, exp):
        """What training `exp` reads besides its experiment file: the lists, and the weights it fine-tunes."""
        entry = self.catalogue["experiments"][exp]
        inputs = list(self.lists(self.source_of(entry["dataset"])).values())
        if "init_from" in entry:
            inputs.append(self.weights(entry["init_from"]))
        return inputs

    def _imagenet(self, backbone, exp):
        weights = self.config.get("imagenet_weights", {})
        if backbone not in weights:
            raise ConfigError(f"{self.config_path}: imagenet_weights.{backbone} is missing (experiment {exp} starts from "
                              f"ImageNet); add the .pth path or set scale.model.pretrained: null")
        return weights[backbone]

    def _scaled_size(self, size):
        return max(8, round(size * self.config["scale"].get("size_factor", 1.0)))

    def protocols(self):
        """Every protocol of the catalogue at this configuration's scale."""
        scale = self.config["scale"]
        resolved = {}
        for name, proto in self.catalogue["protocols"].items():
            proto = deep_merge(proto, scale.get("protocol", {}))
            proto["size"] = self._scaled_size(self.catalogue["protocols"][name]["size"])
            resolved[name] = proto
        return resolved

    def resolve(self, exp):
        """The experiment file of docs/experiment.md for `exp`, at this configuration's scale and data."""
        return self._resolve(exp, self.weights)

    def _resolve(self, exp, init_weights):
        """`resolve`, with `init_weights(name)` standing for the weights that `init_from: name` starts from."""
        entry = self.catalogue["experiments"][exp]
        dataset = self.catalogue["paper_datasets"][entry["dataset"]]
        scale = self.config["scale"]
        source = self.source_of(entry["dataset"])

        model = deep_merge(deep_merge(dataset.get("model", {}), entry["model"]), scale.get("model", {}))
        if model.get("pretrained") == "imagenet":
            model["pretrained"] = self._imagenet(model["backbone"], exp)

        data = deep_merge(dataset.get("data", {}), entry.get("data", {}))
        data["train_size"] = self._scaled_size(data.get("train_size", PAPER_TRAIN_SIZE))
        data = deep_merge(data, scale.get("data", {}))
        lists = self.lists(source)
        data = {
            "dataset": self.source(source)["kind"],
            "frames_root": self.frames_root(source),
            "filename_tmpl": self.source(self.frames_source(source)).get("filename_tmpl", DEFAULT_FILENAME_TMPL),
            "train_list": lists["train"],
            "val_list": lists["val"],
            "classes": lists["classes"],
            "num_frames": model["num_segments"],
            **data,
        }
        train = deep_merge(deep_merge(dataset.get("train", {}), entry.get("train", {})), scale.get("train", {}))
        if "init_from" in entry:
            train["init_from"] = init_weights(entry["init_from"])
        return {
            "name": exp,
            "seed": entry.get("seed", self.config.get("seed", 0)),
            "model": model,
            "data": data,
            "train": train,
            "protocols": self.protocols(),
        }

    def resolve_train(self, exp):
        """What training reads: the resolved experiment without its test protocols."""
        spec = self.resolve(exp)
        del spec["protocols"]
        return spec

    def scores(self, exp, protocol, ext="json"):
        return f"{RESULTS}/scores/{exp}/{protocol}.{ext}"

    def ensemble_scores(self, ens, ext="json"):
        return f"{RESULTS}/fused/{ens}.{ext}"

    def ensemble_members(self, ens, ext="npz"):
        members = self.catalogue["ensembles"][ens]["members"]
        return [self.scores(m["experiment"], m["protocol"], ext) for m in members]

    def ensemble_weights(self, ens):
        return [m.get("weight", 1) for m in self.catalogue["ensembles"][ens]["members"]]

    # ------------------------------------------------------------------ FLOPs at the paper's convention
    def paper_model(self, exp):
        """The unscaled model spec and the paper dataset's class count: what the paper's GFLOPs count."""
        entry = self.catalogue["experiments"][exp]
        dataset = self.catalogue["paper_datasets"][entry["dataset"]]
        model = deep_merge(dataset.get("model", {}), entry["model"])
        model["pretrained"] = None  # weights do not change FLOPs; the count needs no download
        return model, dataset["num_classes"]

    def _assign_flops_keys(self):
        """Experiments with the same paper model and class count share one count, named after the first."""
        keys, seen = {}, {}
        for exp in sorted(self.catalogue["experiments"]):
            model, classes = self.paper_model(exp)
            fingerprint = repr((sorted(flatten(model)), classes))
            keys[exp] = seen.setdefault(fingerprint, exp)
        return keys

    def trained_as(self, exp):
        """The experiment whose training serves `exp`: the first (by name) that all_tables runs with the same
        resolved training file but for its name. At CPU scale several paper datasets map to one synthetic
        dataset and several backbones to one, so e.g. a V1 and a V2 row train one model once."""
        if self._training_keys is None:
            self._training_keys, seen = {}, {}
            for name in self.experiments():
                self._training_keys[name] = seen.setdefault(self._training_fingerprint(name), name)
        return self._training_keys.get(exp, exp)

    def _training_fingerprint(self, exp):
        """The resolved training file but for its name; the weights it fine-tunes from stand as their own
        training's fingerprint (their file name is what `trained_as` decides)."""
        spec = self._resolve(exp, self._training_fingerprint)
        del spec["name"], spec["protocols"]
        return repr(sorted(flatten(spec)))

    def weights(self, exp):
        return f"{RESULTS}/train/{self.trained_as(exp)}/final.pt"

    def flops_key(self, exp):
        return self._flops_keys[exp]

    def flops_path(self, exp, protocol):
        size = self.catalogue["protocols"][protocol]["size"]
        return f"{RESULTS}/flops/{self.flops_key(exp)}_{size}.json"

    def flops_experiment(self, key):
        """The experiment file count_flops.py reads: the paper-scale model only."""
        return {"name": f"{key}_paper_scale", "model": self.paper_model(key)[0]}

    def paper_num_classes(self, key):
        return self.paper_model(key)[1]

    # ------------------------------------------------------------------ tables
    def table_paths(self, table):
        return {"csv": f"{RESULTS}/tables/{table}.csv", "md": f"{RESULTS}/tables/{table}.md"}

    def table_inputs(self, table):
        """Scores and FLOPs files a table reads."""
        inputs = set()
        for _, row in self._rows([table]):
            if not self.row_is_run(row):
                continue
            for scores, members in self._row_evaluations(row):
                inputs.add(scores)
                inputs.update(self.flops_path(exp, proto) for exp, proto in members)
        return sorted(inputs)

    def _views(self, protocol):
        proto = self.catalogue["protocols"][protocol]
        return proto["clips"] * proto["crops"]

    def table_plan(self, table):
        """Everything make_table.py needs, as plain data: rows with their result files and view counts."""
        spec = self.specs[table]
        rows = []
        for row in spec["rows"]:
            out = {key: copy.deepcopy(row[key]) for key in ("label", "group", "paper", "certainty", "note", "views")
                   if key in row}
            out["source"] = "quoted" if row.get("quoted") else "reproduced"
            for key in ("experiment", "ensemble", "mean_over", "protocol"):
                if key in row:
                    out[key] = copy.deepcopy(row[key])
            if out["source"] == "reproduced" and not self.row_is_run(row):
                out["source"] = "not run"
                out["note"] = "; ".join(filter(None, [row.get("note"), "skipped in this configuration"]))
            elif out["source"] == "reproduced":
                out["evaluations"] = [
                    {"scores": scores, "members": [{"experiment": exp, "protocol": proto, "views": self._views(proto),
                                                    "flops": self.flops_path(exp, proto)} for exp, proto in members]}
                    for scores, members in self._row_evaluations(row)]
            rows.append(out)
        return {
            "table": table,
            "title": spec["title"],
            "config": self.config_path,
            "description": self.config.get("description", ""),
            "findings": spec.get("findings", []),
            "rows": rows,
        }

    def plots(self, tables=None):
        """Ablation tables that draw a figure: table -> results/figures/table<table>.png."""
        return {table: f"{RESULTS}/figures/table{table}.png"
                for table in (tables or self.tables) if "plot" in self.specs[table]}

    def table_target(self, table):
        """The files of one table target (rule table2a, ...): CSV, Markdown and figure where one is drawn."""
        return list(self.table_paths(table).values()) + list(self.plots([table]).values())

    # ------------------------------------------------------------------ resources
    def train_runtime(self, exp):
        """Minutes a training job asks for. `resources.train.runtime` is for an 8-frame ResNet-50 experiment
        of the configuration; the cost grows with the frames and the backbone's depth."""
        spec = self.resolve_train(exp)
        frames = spec["model"]["num_segments"] / 8
        depth = BACKBONE_COST[spec["model"]["backbone"]]
        return math.ceil(self.resources("train")["runtime"] * frames * depth)

    def resources(self, rule):
        """The configuration's resources for `rule` over its `default` entry."""
        res = self.config["resources"]
        return {**res["default"], **res.get(rule, {})}

