"""The throughput file that prices a plan's work (config/throughput/*.yaml, written by benchmarks/bench_throughput.py):
clips/s of one device per model and crop size, measured or estimated from GFLOPs, and the data loader's clips/s per
CPU core; where a configuration names it and how to measure it."""
from pathlib import Path

from ctnet.cache import number_problem
from ctnet.workflow.io import ConfigError, read_yaml


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
