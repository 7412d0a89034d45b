"""Experiment resolution: a catalogue entry (config/experiments.yaml) at the configuration's scale and data ->
the experiment file of docs/experiment.md; and the paper-scale model that the FLOPs rule counts."""

from ctnet.experiment import flatten
from ctnet.workflow.config import configured_seeds, deep_merge
from ctnet.workflow.io import ConfigError

# The experiment file's defaults (docs/experiment.md) that the workflow sets explicitly.
PAPER_TRAIN_SIZE = 256


class Resolver:
    """Resolves experiments of `catalogue` under `config` (its `scale:`, `datasets:`, `imagenet_weights:`), reading
    data paths from `sources` (a DataSources)."""

    def __init__(self, config, catalogue, sources, config_path):
        self.config = config
        self.catalogue = catalogue
        self.sources = sources
        self.config_path = config_path
        self._flops_keys = self._assign_flops_keys()

    def source_of(self, exp):
        """The data source that the experiment's paper dataset maps to."""
        return self.config["datasets"][self.catalogue["experiments"][exp]["dataset"]]

    def _imagenet(self, backbone, exp):
        weights = self.config.get("imagenet_weights", {})
        if backbone not in weights:
            raise ConfigError(f"{self.config_path}: imagenet_weights.{backbone} is missing (experiment {exp} starts "
                              f"from ImageNet); add the .pth path or set scale.model.pretrained: null")
        return weights[backbone]

    def _scaled_size(self, size):
        return max(8, round(size * self.config["scale"].get("size_factor", 1.0)))

    def protocols(self):
        """Every protocol of the catalogue at this configuration's scale."""
        scale = self.config["scale"]
        resolved = {}
        for name, proto in self.catalogue["protocols"].items():
            proto = deep_merge(proto, scale.get("protocol", {}))
            for key in ("size", "resize"):  # the crop and the short side it is cut from shrink alike
                if self.catalogue["protocols"][name].get(key) is not None:
                    proto[key] = self._scaled_size(self.catalogue["protocols"][name][key])
            resolved[name] = proto
        return resolved

    def resolve(self, exp, parent_weights):
        """The experiment file for `exp`, with `parent_weights(name)` standing for the weights that
        `init_from: name` fine-tunes."""
        entry = self.catalogue["experiments"][exp]
        dataset = self.catalogue["paper_datasets"][entry["dataset"]]
        scale = self.config["scale"]
        source = self.source_of(exp)

        model = deep_merge(deep_merge(dataset.get("model", {}), entry["model"]), scale.get("model", {}))
        if model.get("pretrained") == "imagenet":
            model["pretrained"] = self._imagenet(model["backbone"], exp)

        data = deep_merge(dataset.get("data", {}), entry.get("data", {}))
        data["train_size"] = self._scaled_size(data.get("train_size", PAPER_TRAIN_SIZE))
        data = deep_merge(data, scale.get("data", {}))
        lists = self.sources.lists(source)
        data = {
            "dataset": self.sources.source(source)["kind"],
            "frames_root": self.sources.frames_root(source),
            "filename_tmpl": self.sources.filename_tmpl(source),
            "train_list": lists["train"],
            "val_list": lists["val"],
            "classes": lists["classes"],
            "num_frames": model["num_segments"],
            **data,
        }
        train = deep_merge(deep_merge(dataset.get("train", {}), entry.get("train", {})), scale.get("train", {}))
        if "init_from" in entry:
            train["init_from"] = parent_weights(entry["init_from"])
        return {
            "name": exp,
            # `seeds:` trains each run with its own seed (Plan.resolve_train); its first is the seed of the rest
            "seed": entry.get("seed", configured_seeds(self.config)[0]),
            "model": model,
            "data": data,
            "train": train,
            "protocols": self.protocols(),
        }

    def training_fingerprint(self, exp):
        """The resolved training file but for its name and test protocols; the weights it fine-tunes stand as
        their own training's fingerprint (their file name is what the plan decides)."""
        spec = self.resolve(exp, self.training_fingerprint)
        del spec["name"], spec["protocols"]
        return repr(sorted(flatten(spec)))

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

    def flops_key(self, exp):
        return self._flops_keys[exp]

    def flops_experiment(self, key):
        """The experiment file count_flops.py reads: the paper-scale model only."""
        return {"name": f"{key}_paper_scale", "model": self.paper_model(key)[0]}
