"""The data side of the plan: where each source's videos, annotations, frames and lists are, and how its frames
are extracted (`sources:` of the configuration; a source is one dataset copy, synthetic or downloaded)."""

from ctnet import paths
from ctnet.data.frames import SHORT_SIDE
from ctnet.data.registry import dataset_kind


class DataSources:
    """Paths and extraction settings of the configuration's `sources:`."""

    def __init__(self, sources):
        self.sources = sources

    def source(self, name):
        return self.sources[name]

    def kind(self, name):
        """The registry entry of the source's dataset kind (ctnet.data.registry)."""
        return dataset_kind(self.source(name)["kind"])

    def videos(self, name):
        return self.source(name).get("videos", paths.VIDEOS.format(source=name))

    def annotations(self, name):
        return self.source(name).get("annotations", paths.ANNOTATIONS.format(source=name))

    def rows_annotations(self, name):
        """The annotation folders whose rows the source's id lists select from (Mini-Kinetics-200: those of the
        Kinetics-400 source whose frames it takes, `rows_from` of its kind); empty for the other kinds."""
        owner = self.frames_source(name)
        if not self.kind(name).rows_from or owner == name:
            return []
        return [self.annotations(owner)]

    def frames_source(self, name):
        """The source whose frame folder `name` reads (itself unless `frames_from`)."""
        return self.source(name).get("frames_from", name)

    def frames_root(self, name):
        owner = self.frames_source(name)
        return self.source(owner).get("frames", paths.FRAMES.format(source=owner))

    def filename_tmpl(self, name):
        """The frame file names of the source's videos: its `filename_tmpl`, else its kind's."""
        owner = self.frames_source(name)
        return self.source(owner).get("filename_tmpl", self.kind(owner).filename_tmpl)

    def short_side(self, name):
        """The short side its frames are extracted at: the source's `short_side`, else extract_frames.py's."""
        return self.source(name).get("short_side", SHORT_SIDE)

    def split(self, name):
        """Which official split its lists hold: the source's `split`, else its kind's first."""
        return self.source(name).get("split", self.kind(name).splits[0])

    def extracted(self, name):
        """True when the workflow extracts this source's frames (it has videos, not ready frames)."""
        spec = self.source(name)
        return "frames" not in spec and "frames_from" not in spec

    def shard_manifests(self, name):
        """The extraction jobs' outputs: one manifest per shard in the shared frame folder."""
        count = self.source(name).get("shards", 1)
        return [paths.MANIFEST.format(source=name, shard=paths.shard_suffix(index, count)) for index in range(count)]

    def shard_arg(self, suffix):
        """extract_frames.py's --shard I/N for a manifest's shard suffix."""
        return "{}/{}".format(*paths.parse_shard_suffix(suffix))

    def generation_options(self, name):
        """make_synthetic.py's options from the source's `generate:` (num_videos -> --num-videos 400, ...), in the
        keys' sorted order: the rule's params, which Snakemake compares as text, must not change with the order a
        YAML file lists them in (that regenerated the videos, re-extracted every frame and retrained every model)."""
        generate = self.source(name)["generate"]
        return " ".join(f"--{key.replace('_', '-')} {generate[key]}" for key in sorted(generate))

    def extraction_options(self, name):
        """extract_frames.py's --max-failed-fraction where the source sets max_failed_fraction, else nothing."""
        fraction = self.source(name).get("max_failed_fraction")
        return "" if fraction is None else f"--max-failed-fraction {fraction}"

    def frames_ready(self, name):
        """What the list builder waits for: the shard manifests, or the given frame folder."""
        owner = self.frames_source(name)
        if self.extracted(owner):
            return self.shard_manifests(owner)
        return [self.frames_root(name)]

    def lists(self, name):
        return {split: pattern.format(source=name) for split, pattern in paths.LIST_FILES.items()}
