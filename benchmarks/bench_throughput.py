#!/usr/bin/env python
"""Measure the throughput file that prices a configuration's run (ctnet.workflow.cost, docs/cost.md): training and
inference clips/s and GFLOPs of every distinct model its tables train and test, the data loader's clips/s per CPU
core, and the bytes of one extracted frame.

    .venv/bin/python benchmarks/bench_throughput.py --config config/paper.yaml --device cuda \\
        --out config/throughput/mine.yaml
    .venv/bin/python benchmarks/bench_throughput.py --config config/config.yaml --device cpu --out F.yaml [--quick]
    .venv/bin/python benchmarks/bench_throughput.py --config config/paper.yaml --estimate --tflops 25 \\
        --device-name "NVIDIA A100, TF32" --out config/throughput/gpu-estimate.yaml

Each model runs as the engine runs it for its first experiment: on CUDA with `train.amp` autocast, channels-last
(`train.channels_last`) and cuDNN autotuning unless `train.deterministic`, training at the per-GPU batch
(`train.batch_size / resources.train.gpu`) with the experiment's optimiser, inference through the evaluator's
`predict_views` at the protocol's `views_per_batch`. On CUDA the memory is recorded too: a training step's peak
as `train_gpu_mb_base` + clips x `train_gpu_mb_per_clip` (the line through its peaks at the per-GPU batch and at
half of it, which the workflow plans micro-batches with) and inference's peak per clip; `--estimate` estimates the
training figures from the tensors autograd saves for one clip on the CPU (`estimated_train_memory`). On CPU
torch uses `--threads` threads (default: the configuration's `resources.train.threads`) and the clock is the
process's CPU time per thread, which other jobs on a shared machine do not inflate. After `--warmup` untimed
steps, the median of `--steps` timed steps counts. `--estimate` times no model: clips/s = effective FLOP/s
(`--tflops`) / FLOPs per clip, with fvcore's GFLOPs (multiply-adds) x 2 per forward pass and a training step
worth three forward passes (forward, gradients of inputs and of weights); such rows say `source: estimate`.

The data side is measured on this machine's CPU in every mode, in CPU time on one core (one process, one thread):
synthetic videos at the configuration's frame size (256 px at paper scale) are extracted to JPEG frames in a
temporary folder and read through ctnet.data's datasets with the first training's data settings, for 8 and 16
frames. So is each job's start-up, in CPU time: a fresh Python process that imports the engine (torch) and, for a
training, builds an optimiser (which loads torch's compiler stack), the median of three. The models need no
dataset: paths of the configuration that do not exist yet are replaced by an empty stand-in. Rows print beside the
TSN model of the same backbone, width and crop size (time per clip and GFLOPs as multiples of TSN's). `--quick` is
the CI size: one timed step, tiny loader samples.
"""

import argparse
import copy
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

from bench_default_run import machine
from ctnet.atomic import write_text_atomic
from ctnet.data import build_dataset
from ctnet.data.annotations import index_frames, write_lists
from ctnet.data.extract import extract_videos
from ctnet.data.registry import parse_annotations
from ctnet.data.synthetic import make_synthetic
from ctnet.engine.evaluator import autocast_context, predict_views
from ctnet.flops import count_flops
from ctnet.models import build_model
from ctnet.workflow import Plan
from ctnet.workflow.cost import throughput_needs, trainings_of, work_of
from ctnet.workflow.io import read_yaml

REPO = Path(__file__).resolve().parents[1]
LOADER_CLASSES = 4  # the smallest synthetic label set whose flip map (left <-> right) the default config uses


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the workflow configuration whose tables are priced")
    parser.add_argument("--out", required=True, help="throughput file to write (YAML)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to time the models")
    parser.add_argument("--threads", type=int, help="torch threads on CPU (default: resources.train.threads)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model and mode")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (allocator, kernel choice)")
    parser.add_argument("--loader-frames", type=int, nargs="+", default=[8, 16], help="clip lengths of the loaders")
    parser.add_argument("--loader-clips", type=int, default=24, help="clips timed per loader")
    parser.add_argument("--quick", action="store_true", help="CI size: 1 timed step, 1 warm-up, 4 loader clips")
    parser.add_argument("--estimate", action="store_true", help="no timing: clips/s from GFLOPs and --tflops")
    parser.add_argument("--tflops", type=float, help="with --estimate: effective TFLOP/s of the device assumed")
    parser.add_argument("--device-name", help="with --estimate: the device the figures are for")
    args = parser.parse_args(argv)
    if args.estimate and not (args.tflops and args.device_name):
        parser.error("--estimate needs --tflops (the effective TFLOP/s assumed) and --device-name")
    if args.quick:
        args.steps, args.warmup, args.loader_clips = 1, 1, 4
    return args


def plannable(config, stand_in):
    """A copy of `config` whose dataset and weight paths exist: missing ones point at an empty folder or file."""
    config = copy.deepcopy(config)
    folder, empty = stand_in / "missing", stand_in / "missing.pth"
    folder.mkdir()
    empty.touch()
    for source in config["sources"].values():
        for key in ("annotations", "videos", "frames"):
            if key in source and not (REPO / source[key]).exists():
                source[key] = str(folder)
    for section in ("imagenet_weights", "weights"):
        for name, path in config.get(section, {}).items():
            if not (REPO / path).is_file():
                config[section][name] = str(empty)
    return config


# ---------------------------------------------------------------------------------------------- models
def build(need):
    spec = dict(need["model"], pretrained=None)  # weights change no speed; the file need not exist here
    return build_model(spec, need["num_classes"])


def clock(device):
    """Wall time on CUDA. On CPU this process's CPU time per torch thread: its wall time on cores of its own, which
    waiting for cores shared with other jobs does not inflate."""
    if device.type == "cuda":
        return time.perf_counter
    threads = torch.get_num_threads()
    return lambda: time.process_time() / threads


def timed(run, steps, warmup, device):
    """Median seconds of `run()` over `steps` runs, after `warmup` untimed ones."""
    for _ in range(warmup):
        run()
    now = clock(device)
    seconds = []
    for _ in range(steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = now()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(now() - start)
    return statistics.median(seconds)


def train_step_runner(model, need, size, device, batch=None):
    """One optimiser step as the trainer takes it, on a random batch of the per-device size (or `batch` clips)."""
    batch = batch or need["train_batch"]
    amp = need["amp"] if device.type == "cuda" else None
    params = [param for param in model.parameters() if param.requires_grad]
    optimizer = (torch.optim.AdamW(params, lr=1e-4) if need["optimizer"] == "adamw"
                 else torch.optim.SGD(params, lr=1e-4, momentum=0.9))
    scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")
    frames = need["model"]["num_segments"]
    clips = torch.randn(batch, 3, frames, size, size, device=device)
    labels = torch.randint(0, need["num_classes"], (batch,), device=device)

    def step():
        model.train()
        with autocast_context(device, amp):
            logits = model(clips)
        loss = F.cross_entropy(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return step


def test_runner(model, need, size, device):
    """One batch of single-view videos through the evaluator's own inference path (views come from the CPU)."""
    amp = need["amp"] if device.type == "cuda" else None
    views = torch.randn(need["test_batch"], 1, 3, need["model"]["num_segments"], size, size)

    def run():
        model.eval()
        predict_views(model, views, need["test_batch"], "scores", device, amp=amp)
    return run


def peak_mb(run, device):
    torch.cuda.reset_peak_memory_stats(device)
    run()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 2**20


def train_memory(model, need, size, device):
    """{"train_gpu_mb_base", "train_gpu_mb_per_clip"}: a training step's peak memory is base + clips x per clip,
    the line through the peaks at the per-device batch and at half of it (weights, gradients and optimiser state
    are the same in both, each clip's activations come on top); the workflow plans micro-batches with it."""
    batch = need["train_batch"]
    half = max(1, batch // 2)
    peaks = {clips: peak_mb(train_step_runner(model, need, size, device, clips), device) for clips in (half, batch)}
    per_clip = (peaks[batch] - peaks[half]) / (batch - half) if batch > half else peaks[batch]
    per_clip = max(per_clip, peaks[batch] / (2 * batch))  # allocator rounding can flatten the line at small sizes
    return {"train_gpu_mb_base": round(max(1.0, peaks[batch] - batch * per_clip), 1),
            "train_gpu_mb_per_clip": round(per_clip, 1)}


# Estimated training memory on top of the tensors autograd saves for backward: the gradients in flight during the
# backward pass and the allocator's rounding.
ACTIVATION_MARGIN = 1.25


def estimated_train_memory(model, need, size):
    """{"train_gpu_mb_base", "train_gpu_mb_per_clip"} without a GPU: per clip, the bytes of the tensors autograd
    saves for backward in one clip's training forward pass on the CPU (each storage once, in the experiment's
    precision) x ACTIVATION_MARGIN, plus twice the largest output of a layer (its input and output live at once,
    saved or not: what a model with frozen blocks needs beyond its few saved tensors); the base, the trainable
    weights, their gradients and the optimiser's state (SGD's momentum, AdamW's two moments) in fp32, plus the
    frozen weights."""
    saved, largest = {}, [0]

    def pack(tensor):
        storage = tensor.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    def output_bytes(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            largest[0] = max(largest[0], output.untyped_storage().nbytes())

    hooks = [module.register_forward_hook(output_bytes) for module in model.modules()
             if not list(module.children())]

    frames = need["model"]["num_segments"]
    clips = torch.randn(1, 3, frames, size, size)
    model.train()
    # bf16 and fp16 both save 2-byte activations; the CPU's autocast does bf16
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), \
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=need["amp"] is not None):
        model(clips).float().sum()
    for hook in hooks:
        hook.remove()
    trainable = sum(param.numel() for param in model.parameters() if param.requires_grad)
    frozen = sum(param.numel() for param in model.parameters() if not param.requires_grad)
    copies = 4 if need["optimizer"] == "adamw" else 3
    return {"train_gpu_mb_base": round((copies * trainable + frozen) * 4 / 2**20, 1),
            "train_gpu_mb_per_clip": round((sum(saved.values()) * ACTIVATION_MARGIN + 2 * largest[0]) / 2**20, 1)}


def measure_model(key, size, need, args, device, device_name):
    model = build(need)
    frames = need["model"]["num_segments"]
    gflops = count_flops(model, frames, size)["gflops"]
    row = {"model": key, "frames": frames, "size": size, "device": device_name,
           "source": "estimate" if args.estimate else "measured", "gflops": float(f"{gflops:.4g}"),
           "train_batch": need["train_batch"], "test_batch": need["test_batch"],
           "precision": (need["amp"] or "fp32") if device.type == "cuda" or args.estimate else "fp32",
           "channels_last": bool(need["channels_last"] and (device.type == "cuda" or args.estimate)),
           "train_clips_per_s": None, "test_clips_per_s": None,
           "train_gpu_mb_base": None, "train_gpu_mb_per_clip": None, "test_memory_mb_per_clip": None}
    if args.estimate:
        flop_per_s = args.tflops * 1e12
        forward = 2 * gflops * 1e9  # fvcore counts a multiply-add as one FLOP
        if "train" in need["figures"]:
            row["train_clips_per_s"] = round(flop_per_s / (3 * forward), 2)
            row.update(estimated_train_memory(model, need, size))
        if "test" in need["figures"]:
            row["test_clips_per_s"] = round(flop_per_s / forward, 2)
        return row
    model = model.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not need["deterministic"]
        if need["channels_last"]:
            model = model.to(memory_format=torch.channels_last)
    for figure, runner, batch in (("train", train_step_runner, need["train_batch"]),
                                  ("test", test_runner, need["test_batch"])):
        if figure not in need["figures"]:
            continue
        run = runner(model, need, size, device)
        row[f"{figure}_clips_per_s"] = round(batch / timed(run, args.steps, args.warmup, device), 2)
        if device.type == "cuda" and figure == "train":
            row.update(train_memory(model, need, size, device))
        elif device.type == "cuda":
            row["test_memory_mb_per_clip"] = round(peak_mb(run, device) / batch, 1)
    return row


# ---------------------------------------------------------------------------------------------- data
def frame_side(plan, source):
    """The side of the frames the source's loader reads: the extraction's short side, or the generated size."""
    spec = plan.data.source(source)
    if spec["kind"] == "synthetic":
        return spec.get("short_side") or spec["generate"]["size"]
    return spec.get("short_side") or 256


def make_frames(folder, side, frames, videos):
    """Synthetic videos at `side` px extracted to JPEG frames and listed: (frames root, lists folder)."""
    make_synthetic(folder, num_videos=videos, seed=0, size=side, num_frames=frames, num_classes=LOADER_CLASSES,
                   progress=False)
    extract_videos(folder / "videos", folder / "frames", short_side=0, progress=False)
    write_lists(parse_annotations("synthetic", folder / "annotations", index_frames(folder / "frames")),
                folder / "lists")
    return folder / "frames", folder / "lists"


def clips_per_s(dataset, clips):
    """Items per CPU second of `dataset` read in this process (one core), cycling through its videos."""
    dataset[0]  # first touch: file cache, decoder set-up
    start = time.process_time()
    for index in range(clips):
        dataset[index % len(dataset)]
    return clips / (time.process_time() - start)


def measure_data(plan, args, folder, cpu):
    """Loader rows (train and test, per clip length) and the frame bytes, on one core."""
    work = work_of(plan)
    first = trainings_of(plan, plan.tables)[0]
    exp, protocol = plan.tests()[0]
    source = plan.resolver.source_of(first)
    side = frame_side(plan, source)
    videos = 2 * LOADER_CLASSES if args.quick else 4 * LOADER_CLASSES
    root, lists = make_frames(folder, side, max(args.loader_frames) * 2, videos)
    data = dict(work.spec(first)["data"], frames_root=str(root), train_list=str(lists / "train.txt"),
                val_list=str(lists / "val.txt"), classes=str(lists / "classes.txt"), filename_tmpl="img_{:05d}.jpg")
    one_view = dict(work.spec(exp)["protocols"][protocol], clips=1, crops=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for frames in args.loader_frames:
            cfg = dict(data, num_frames=frames)
            for split, dataset, size in (("train", build_dataset(cfg, "train"), cfg["train_size"]),
                                         ("test", build_dataset(cfg, "val", protocol=one_view), one_view["size"])):
                rows.append({"split": split, "frames": frames, "frame_side": side, "size": size, "cpu": cpu,
                             "source": "measured",
                             "clips_per_s_per_core": round(clips_per_s(dataset, args.loader_clips), 2)})
    finally:
        torch.set_num_threads(threads)
    jpegs = list(root.rglob("*.jpg"))
    frame_bytes = {"frame_side": side, "bytes_per_frame": round(sum(p.stat().st_size for p in jpegs) / len(jpegs)),
                   "cpu": cpu, "source": "measured"}
    return rows, frame_bytes


# What a job's process runs besides its clips: Python, torch and the engine (a training also builds its optimiser),
# and the exit of scripts/train.py and scripts/test.py.
STARTUP_CODE = {
    "test": "import ctnet.engine.api",
    "train": "import torch, ctnet.engine.api; torch.optim.AdamW([torch.zeros(1, requires_grad=True)])",
}
EXIT_CODE = "; from ctnet.process import exit_without_teardown; exit_without_teardown(0)"


def child_cpu_seconds(code):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code + EXIT_CODE], check=True, cwd=REPO)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def measure_startup(cpu, repeats=3):
    """Seconds of CPU a training and a test job spend starting, the median of `repeats` fresh processes each."""
    seconds = {f"{job}_seconds": round(statistics.median(child_cpu_seconds(code) for _ in range(repeats)), 2)
               for job, code in STARTUP_CODE.items()}
    return {**seconds, "cpu": cpu, "source": "measured"}


# ---------------------------------------------------------------------------------------------- report
def tsn_reference(rows, row):
    """The TSN row of the same backbone, width and crop size (the same frames when there is one)."""
    family = row["model"].split("-")[1:3]
    candidates = [other for other in rows if other["model"].startswith("tsn-") and other["size"] == row["size"]
                  and other["model"].split("-")[1:3] == family]
    return min(candidates, key=lambda other: abs(other["frames"] - row["frames"]), default=None)


def ratio(reference, value):
    return f"{reference / value:.2f}" if reference and value else "-"


def report(rows, loaders, startup):
    print("| model | size | GFLOPs | train clips/s | test clips/s | train MB/clip | GFLOPs x TSN | train time x TSN "
          "| test time x TSN |\n|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        ref = tsn_reference(rows, row) or {}
        print(f"| {row['model']} | {row['size']} | {row['gflops']:.3g} | {row['train_clips_per_s'] or '-'} "
              f"| {row['test_clips_per_s'] or '-'} | {row['train_gpu_mb_per_clip'] or '-'} "
              f"| {ratio(row['gflops'], ref.get('gflops'))} "
              f"| {ratio(ref.get('train_clips_per_s'), row['train_clips_per_s'])} "
              f"| {ratio(ref.get('test_clips_per_s'), row['test_clips_per_s'])} |")
    for row in loaders:
        print(f"{row['split']} loader, {row['frames']} frames of {row['frame_side']} px -> {row['size']} px: "
              f"{row['clips_per_s_per_core']} clips/s per core")
    print(f"start-up of a job: training {startup['train_seconds']} s, test {startup['test_seconds']} s of CPU")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    device = torch.device(args.device)
    cpu = machine()
    with tempfile.TemporaryDirectory(prefix="ctnet-throughput-") as tmp:
        tmp = Path(tmp)
        plan = Plan(plannable(read_yaml(REPO / args.config), tmp), root=REPO, config_path=args.config)
        torch.set_num_threads(args.threads or plan.resources("train").get("threads", 1))
        if args.estimate:
            device_name = args.device_name
            basis = (f"estimate: {args.tflops:g} effective TFLOP/s assumed for {device_name}; clips/s = FLOP/s / "
                     "FLOPs per clip (fvcore GFLOPs x 2 per forward pass, x 3 for a training step); not measured")
        elif device.type == "cuda":
            device_name = torch.cuda.get_device_name(device)
            basis = f"measured on {device_name} with the engine's settings"
        else:
            device_name = f"{cpu}, {torch.get_num_threads()} torch thread(s)"
            basis = f"measured on {device_name}"
        torch.manual_seed(0)
        rows = []
        for (key, size), need in sorted(throughput_needs(plan).items()):
            rows.append(measure_model(key, size, need, args, device, device_name))
            print(f"{key} at {size} px: {rows[-1]['train_clips_per_s']} / {rows[-1]['test_clips_per_s']} clips/s",
                  file=sys.stderr)
        loaders, frame_bytes = measure_data(plan, args, tmp / "frames", cpu)
    startup = measure_startup(cpu, repeats=1 if args.quick else 3)
    report(rows, loaders, startup)
    command = "python benchmarks/bench_throughput.py " + shlex.join(argv)
    document = {"command": command, "config": args.config, "basis": basis, "models": rows, "loaders": loaders,
                "frame_bytes": frame_bytes, "startup": startup}
    header = f"# Throughput of {args.config}'s models and data loaders (docs/cost.md), written by:\n# {command}\n"
    write_text_atomic(args.out, header + yaml.safe_dump(document, sort_keys=False, width=120))
    print(f"wrote {args.out}: {len(rows)} models, {len(loaders)} loader figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
