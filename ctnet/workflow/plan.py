"""The workflow plan: which data, experiments, tests, ensembles, FLOPs counts and tables a configuration needs.

`Plan` turns the configuration (config/config.yaml, smoke.yaml or paper.yaml), the experiment catalogue
(config/experiments.yaml) and the table specs (config/tables/*.yaml) into the file lists the Snakemake rules ask
for, with the help of `DataSources` (where each dataset's files are), `Resolver` (the resolved experiment files of
docs/experiment.md) and the checks of `checks.py`. File names follow the patterns of `ctnet.paths`.
"""
import copy
from pathlib import Path

from ctnet import paths
from ctnet.workflow.checks import check_plan
from ctnet.workflow.cost import planned_micro_batch, training_time_limit
from ctnet.workflow.config import (DEFAULT_EXPERIMENTS, DEFAULT_TABLES_DIR, configured_seeds, load_catalogue,
                                   load_config, load_tables, missing_downloads)
from ctnet.workflow.findings import DEFAULT_MIN_SEEDS
from ctnet.workflow.io import ConfigError
from ctnet.workflow.resolve import Resolver
from ctnet.workflow.sources import DataSources


class Plan:
    """Everything the rules need, computed once when Snakemake parses the workflow."""

    def __init__(self, config, root=".", config_path="config/config.yaml"):
        self.root = Path(root)
        self.config_path = config_path
        self.config = load_config(config, self.root, config_path)
        self.missing = missing_downloads(self.config, self.root, config_path)
        self.catalogue = load_catalogue(config.get("experiments", DEFAULT_EXPERIMENTS), self.root,
                                        self.config.get("overrides"), config_path)
        self.tables_dir = config.get("tables_dir", DEFAULT_TABLES_DIR)
        self.specs = load_tables(self.tables_dir, self.root, self.catalogue)
        self.tables = list(config.get("tables", self.specs))
        self.skipped = set(config.get("skip_experiments", []))
        self.data = DataSources(self.config["sources"])
        self.resolver = Resolver(self.config, self.catalogue, self.data, config_path)
        self._training_keys = None
        self._table_seeds = None
        check_plan(self)

    # ------------------------------------------------------------------ what the tables need
    def _rows(self, tables):
        for table in tables:
            for row in self.specs[table]["rows"]:
                yield table, row

    def _row_evaluations(self, row):
        """(scores files, one per seed; its (experiment, protocol) members) pairs whose numbers a row averages:
        one for an experiment or an ensemble, one per split for `mean_over`; none for quoted rows."""
        if "experiment" in row:
            return [(self.run_scores(row["experiment"], row["protocol"]), [(row["experiment"], row["protocol"])])]
        if "ensemble" in row:
            members = self.catalogue["ensembles"][row["ensemble"]]["members"]
            return [([self.ensemble_scores(run) for run in self.ensemble_runs(row["ensemble"])],
                     [(m["experiment"], m["protocol"]) for m in members])]
        return [(self.run_scores(exp, row["protocol"]), [(exp, row["protocol"])]) for exp in row.get("mean_over", [])]

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

    # ------------------------------------------------------------------ experiments
    def data_lists(self, exp):
        """The list files (train, val, classes) of the data that `exp` trains and tests on."""
        return list(self.data.lists(self.resolver.source_of(exp)).values())

    def experiment_inputs(self, run, dry_run=False):
        """What training `run` reads besides its experiment file: the lists, the ImageNet weights it starts from,
        and the weights it fine-tunes (the parent's run of the same seed)."""
        exp, seed = paths.parse_run(run)
        entry = self.catalogue["experiments"][exp]
        inputs = self.data_lists(exp)
        pretrained = self.resolve(exp)["model"].get("pretrained")
        if pretrained in self.config.get("imagenet_weights", {}).values():
            inputs += self.downloaded(pretrained, dry_run)
        if "init_from" in entry:
            inputs.append(self.weights(entry["init_from"], seed))
        return inputs

    def downloaded(self, path, dry_run):
        """`path` as a rule's input, where it may be data or weights that the user downloads: while that download
        is missing, nothing in a dry run (the plan and its cost can be shown before the data are there) and its
        one-line error in a real run, before any job starts."""
        if path not in self.missing:
            return [path]
        if dry_run:
            return []
        raise ConfigError(self.missing[path])

    def resolve(self, exp):
        """The experiment file of docs/experiment.md for `exp`, at this configuration's scale and data."""
        return self.resolver.resolve(exp, self.weights)

    def resolve_train(self, run):
        """What training `run` reads: the resolved experiment without its test protocols, with the run's seed and
        the weights of the parent's run of that seed."""
        exp, seed = paths.parse_run(run)
        spec = self.resolver.resolve(exp, lambda parent: self.weights(parent, seed))
        if seed is not None:
            spec["seed"] = seed
        del spec["protocols"]
        micro_batch = planned_micro_batch(self, exp)
        if micro_batch is not None:  # the clips one GPU computes at once (resources.train: micro_batch, gpu_memory_gb)
            spec["train"] = {**spec.get("train", {}), "micro_batch": micro_batch}
        return spec

    # ------------------------------------------------------------------ seeds: one run per seed
    @property
    def seeds(self):
        """The seeds every experiment trains and tests with: `seeds:` of the configuration, else [`seed:`]."""
        return configured_seeds(self.config)

    def seeds_of(self, exp):
        """The seeds `exp` trains with: `seeds:`, and those that `table_seeds:` gives the tables it serves (through
        the training that serves it, so that every experiment of one training has the same runs)."""
        if self._table_seeds is None:
            self._table_seeds = {}
            for table, seeds in self.config.get("table_seeds", {}).items():
                # a configuration over another tables_dir may lack the table: nothing of it to seed
                for name in self.experiments([table]) if table in self.specs else []:
                    self._table_seeds.setdefault(self.trained_as(name), set()).update(seeds)
        extra = self._table_seeds.get(self.trained_as(exp), set())
        return sorted(set(self.seeds) | extra) if extra else self.seeds

    def seeded(self, exp):
        """Whether `exp` trains once per seed: with several seeds, unless it is tested with imported weights."""
        return len(self.seeds_of(exp)) > 1 and exp not in self.given_weights

    def runs(self, exp):
        """The runs (paths.run_name) of `exp`: one per seed, or the experiment itself."""
        return [paths.run_name(exp, seed) for seed in self.seeds_of(exp)] if self.seeded(exp) else [exp]

    def ensemble_runs(self, ens):
        """One fusion per seed that every seeded member has (imported or single-run members join each), else one."""
        members = [m["experiment"] for m in self.catalogue["ensembles"][ens]["members"]]
        seeded = [set(self.seeds_of(exp)) for exp in members if self.seeded(exp)]
        return [paths.run_name(ens, seed) for seed in sorted(set.intersection(*seeded))] if seeded else [ens]

    def scores(self, run, protocol, ext="json"):
        return paths.SCORES.format(run=run, protocol=protocol, ext=ext)

    def run_scores(self, exp, protocol, ext="json"):
        """The scores file of each run of `exp` under `protocol`: those of the experiment whose training serves it
        (`trained_as`), as the same weights on the same validation videos under the same protocol score alike."""
        return [self.scores(run, protocol, ext) for run in self.runs(self.trained_as(exp))]

    def ensemble_scores(self, run, ext="json"):
        return paths.FUSED.format(run=run, ext=ext)

    def test_jobs(self, tables=None):
        """(experiment, protocol) of the test jobs `tables` need: an experiment that another's training serves is
        tested as that one, whose files `run_scores` names."""
        return sorted({(self.trained_as(exp), protocol) for exp, protocol in self.tests(tables)})

    def ensemble_members(self, run, ext="npz"):
        """The members' scores that one run of an ensemble fuses: each member's run of the same seed."""
        ens, seed = paths.parse_run(run)
        members = self.catalogue["ensembles"][ens]["members"]
        return [self.scores(self.run_of(m["experiment"], seed), m["protocol"], ext) for m in members]

    def ensemble_weights(self, run):
        ens, _ = paths.parse_run(run)
        return [m.get("weight", 1) for m in self.catalogue["ensembles"][ens]["members"]]

    def trained_as(self, exp):
        """The experiment whose training and tests serve `exp`: the first (by name) that all_tables trains with the
        same resolved training file but for its name. At CPU scale several paper datasets map to one synthetic
        dataset and several backbones to one, so e.g. a V1 and a V2 row train and test one model once."""
        if self._training_keys is None:
            self._training_keys, seen = {}, {}
            for name in self.experiments():
                if name not in self.given_weights:
                    self._training_keys[name] = seen.setdefault(self.resolver.training_fingerprint(name), name)
        return self._training_keys.get(exp, exp)

    @property
    def given_weights(self):
        """Experiment -> official checkpoint, for the experiments tested with imported weights (never trained)."""
        return self.config.get("weights", {})

    def run_of(self, exp, seed=None):
        """The run that serves `exp` for `seed`: that seed's run of the experiment whose training serves it, or its
        single run where it is not seeded."""
        if not self.seeded(exp):
            return paths.run_name(self.trained_as(exp))
        # a single-run experiment that reads a seeded one (a fine-tuning, an ensemble) reads its run of `seed:`
        return paths.run_name(self.trained_as(exp), self.seeds[0] if seed is None else seed)

    def weights(self, exp, seed=None):
        """The weights `exp` is tested with (and its fine-tunings start from): imported, or the final weights of
        `run_of(exp, seed)`."""
        if exp in self.given_weights:
            return paths.IMPORTED_WEIGHTS.format(exp=exp)
        return paths.FINAL_WEIGHTS.format(run=self.run_of(exp, seed))

    def run_weights(self, run):
        """The weights that the tests of `run` read."""
        return self.weights(*paths.parse_run(run))

    # ------------------------------------------------------------------ FLOPs at the paper's convention
    def _flops_count(self, exp, protocol):
        """(model key, paper crop size) of the count that `exp` tested with `protocol` reads."""
        return self.resolver.flops_key(exp), self.catalogue["protocols"][protocol]["size"]

    def flops_path(self, exp, protocol):
        key, size = self._flops_count(exp, protocol)
        return paths.FLOPS.format(key=key, size=size)

    def flops_counts(self):
        """Sorted (model key, class count, size, FLOPs file) of every count a table spec reads: of every spec, not
        only of `tables:`, so that each table target finds its counts in the one count_flops job."""
        counts = {self._flops_count(exp, protocol) for exp, protocol in self.tests(list(self.specs))}
        return [(key, self.resolver.paper_model(key)[1], size, paths.FLOPS.format(key=key, size=size))
                for key, size in sorted(counts)]

    # ------------------------------------------------------------------ tables
    def table_paths(self, table):
        return {ext: paths.TABLE.format(table=table, ext=ext) for ext in ("csv", "md")}

    def table_spec_path(self, table):
        return f"{self.tables_dir}/{table}.yaml"

    def table_inputs(self, table):
        """Scores files (metrics and per-video scores, for the intervals) and FLOPs files a table reads."""
        inputs = set()
        for _, row in self._rows([table]):
            if not self.row_is_run(row):
                continue
            for scores, members in self._row_evaluations(row):
                inputs.update(scores)
                inputs.update(str(Path(path).with_suffix(".npz")) for path in scores)
                inputs.update(self.flops_path(exp, proto) for exp, proto in members)
        return sorted(inputs)

    def views(self, protocol):
        proto = self.catalogue["protocols"][protocol]
        return proto["clips"] * proto["crops"]

    def table_plan(self, table):
        """Everything make_table.py needs, as plain data: rows with their result files and view counts."""
        spec = self.specs[table]
        rows = []
        for row in spec["rows"]:
            out = {key: copy.deepcopy(row[key]) for key in ("label", "group", "paper", "certainty", "note", "views")
                   if key in row}
            out["origin"] = "quoted" if row.get("quoted") else "reproduced"
            for key in ("experiment", "ensemble", "mean_over", "protocol"):
                if key in row:
                    out[key] = copy.deepcopy(row[key])
            if out["origin"] == "reproduced" and not self.row_is_run(row):
                out["origin"] = "not run"
                out["note"] = "; ".join(filter(None, [row.get("note"), "skipped in this configuration"]))
            elif out["origin"] == "reproduced":
                imported = sorted({exp for exp, _ in self._row_members(row) if exp in self.given_weights})
                if imported:
                    out["note"] = "; ".join(filter(None, [row.get("note"), "tested with the official code's weights ("
                                                          + ", ".join(self.given_weights[e] for e in imported) + ")"]))
                out["evaluations"] = [
                    {"scores": scores, "members": [{"experiment": exp, "protocol": proto, "views": self.views(proto),
                                                    "flops": self.flops_path(exp, proto)} for exp, proto in members]}
                    for scores, members in self._row_evaluations(row)]
            rows.append(out)
        return {
            "table": table,
            "title": spec["title"],
            "config": self.config_path,
            "description": self.config.get("description", ""),
            "comparable": self.comparable_to_paper(table),
            "min_seeds": self.config.get("verdict_min_seeds", DEFAULT_MIN_SEEDS),
            "findings": spec.get("findings", []),
            "rows": rows,
        }

    def comparable_to_paper(self, table):
        """Whether the table's reproduced accuracies can stand beside the paper's: the paper's datasets (no
        synthetic source) at the paper's scale (no crop scaling, no other backbone or width). A dict with `ok`
        and, when not, `why`, in words for the table's reader."""
        scale = self.config["scale"]
        synthetic = sorted({self.resolver.source_of(exp) for exp, _ in self.tests([table])
                            if self.data.source(self.resolver.source_of(exp))["kind"] == "synthetic"})
        if synthetic:
            return {"ok": False, "why": "the videos are synthetic (sources: " + ", ".join(synthetic) + "), not the "
                                        "paper's datasets"}
        scaled = [key for key in ("backbone", "base_width") if key in scale.get("model", {})]
        if scale.get("size_factor", 1.0) != 1.0 or scaled:
            return {"ok": False, "why": "the models or crops are scaled down (scale: in the configuration)"}
        return {"ok": True}

    def plots(self, tables=None):
        """Ablation tables that draw a figure: table -> results/figures/table<table>.png."""
        return {table: paths.TABLE_FIGURE.format(table=table)
                for table in (tables or self.tables) if "plot" in self.specs[table]}

    def table_target(self, table):
        """The files of one table target (rule table2a, ...): CSV, Markdown and figure where one is drawn."""
        return list(self.table_paths(table).values()) + list(self.plots([table]).values())

    # ------------------------------------------------------------------ resources
    def train_runtime(self, exp):
        """Minutes a training job of `exp` asks for: the cost estimate's wall time of one run with its margin
        (ctnet.workflow.cost), or `resources.train.runtime` where no estimate can be made yet."""
        return training_time_limit(self, exp)

    def resources(self, rule):
        """The configuration's resources for `rule` over its `default` entry."""
        res = self.config["resources"]
        return {**res["default"], **res.get(rule, {})}

