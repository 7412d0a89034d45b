"""Time CT-Net-R50 against the TSN-R50 baseline, and TSN-R50 against torchvision's resnet50, in one run.

    .venv/bin/python benchmarks/bench_model_speed.py [--threads 1 2] [--repeats 5] [--batch 1] [--device cpu|cuda]

All models: ResNet-50 (base_width 64), 8 frames, 224 x 224, 174 classes; inference (eval, no_grad) and one training
step (forward, cross-entropy, backward, SGD step). The reference is torchvision's ``resnet50`` with 174 classes on
the same frames, already folded to ``(N*T, 3, H, W)``, trained on per-frame scores with the clip's label: the same
2D network as TSN-R50, so the ratio TSN/torchvision is our TSN's overhead (all it adds is the fold copy, the
consensus and the frozen-BN check of ``train()``, about 1-2 ms; docs/benchmarks.md). For each thread count, after
two warm-up runs per model and mode, the models are timed alternately, the order flipping every repeat (TSN, CT,
torchvision, torchvision, CT, TSN, ...), so that load changes from other jobs hit all alike; figures are medians
over ``--repeats``. On CPU it prints wall time and the process's CPU time: on a contended machine the CPU time of a
1-thread run is the steadier figure, as waiting for a core does not count. The paper's claim to compare against is
the FLOPs ratio CT/TSN (fvcore, printed too): the official implementation runs 1.07x slower than TSN for inference
on a 2-core CPU although it has 0.87x its FLOPs. On a machine whose cores are busy with other jobs, run the
multi-thread figures with ``OMP_WAIT_POLICY=PASSIVE`` in the environment: otherwise OpenMP threads spin while
waiting for a descheduled peer, which penalises the model with more (small) kernels, here CT-Net, and measures the
contention rather than the models.
"""
import argparse
import functools
import os
import statistics
import time

import torch
import torchvision
from fvcore.nn import FlopCountAnalysis

from ctnet.flops import count_flops
from ctnet.models import build_model

SPECS = {"TSN-R50": {"module": "tsn"}, "CT-Net-R50": {}}
REFERENCE = "torchvision-R50"
MODES = ("inference", "train step")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=1, help="clips per forward pass")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model, mode and thread count")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="torch CPU thread counts to measure, each for both models (default: 1 2)")
    return parser.parse_args()


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(run, device):
    """(wall seconds, process CPU seconds) of ``run()``."""
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    _sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def inference(model, clip):
    model.eval()
    with torch.no_grad():
        model(clip)


def train_step(model, clip, labels, optimizer):
    model.train()
    optimizer.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(clip), labels).backward()
    optimizer.step()


def measure(models, optimizers, inputs, repeats):
    """{(name, mode): [(wall, cpu), ...]}, the models run alternately in flipping order on their ``inputs[name]``,
    an (input, labels) pair."""
    runs = {}
    for name, model in models.items():
        clip, labels = inputs[name]
        runs[name, "inference"] = functools.partial(inference, model, clip)
        runs[name, "train step"] = functools.partial(train_step, model, clip, labels, optimizers[name])
    for run in runs.values():  # warm-up: allocator, oneDNN kernel selection, BN statistics
        run()
        run()
    times = {key: [] for key in runs}
    names = list(models)
    for repeat in range(repeats):
        for mode in MODES:
            for name in (names if repeat % 2 == 0 else names[::-1]):
                times[name, mode].append(_timed(runs[name, mode], inputs[name][0].device))
    return times


def _median(samples, index):
    return statistics.median(sample[index] for sample in samples)


def _ratios(times, name, base, clocks):
    return "   ".join(f"{mode} " + " / ".join(f"{_median(times[name, mode], i) / _median(times[base, mode], i):.3f}"
                                          for i in range(len(clocks))) for mode in MODES)


def report(times, gflops, device):
    clocks = ("wall", "CPU") if device.type == "cpu" else ("wall",)
    for name in gflops:
        cells = [f"{mode} " + " / ".join(f"{_median(times[name, mode], i):.3f}" for i in range(len(clocks)))
                 for mode in MODES]
        print(f"  {name:15s} {gflops[name]:6.2f} GFLOPs  " + "   ".join(cells) + f" s ({' / '.join(clocks)})")
    flops_ratio = gflops["CT-Net-R50"] / gflops["TSN-R50"]
    print(f"  ratio CT/TSN: FLOPs {flops_ratio:.3f}   " + _ratios(times, "CT-Net-R50", "TSN-R50", clocks)
          + f" ({' / '.join(clocks)})")
    print(f"  ratio TSN/torchvision: FLOPs {gflops['TSN-R50'] / gflops[REFERENCE]:.3f}   "
          + _ratios(times, "TSN-R50", REFERENCE, clocks) + f" ({' / '.join(clocks)})")


def main():
    args = parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    models = {name: build_model(dict(spec, num_segments=args.frames), 174) for name, spec in SPECS.items()}
    gflops = {name: count_flops(model, args.frames, args.size)["gflops"] for name, model in models.items()}
    models[REFERENCE] = torchvision.models.resnet50(num_classes=174)
    gflops[REFERENCE] = FlopCountAnalysis(models[REFERENCE].eval(), torch.zeros(args.frames, 3, args.size, args.size)
                                          ).unsupported_ops_warnings(False).total() / 1e9
    models = {name: model.to(device) for name, model in models.items()}
    optimizers = {name: torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9) for name, model in models.items()}
    clip = torch.randn(args.batch, 3, args.frames, args.size, args.size, device=device)
    labels = torch.zeros(args.batch, dtype=torch.long, device=device)
    inputs = {name: (clip, labels) for name in SPECS}
    frames = clip.transpose(1, 2).reshape(-1, 3, args.size, args.size).contiguous()  # (N*T, 3, H, W)
    inputs[REFERENCE] = (frames, labels.repeat_interleave(args.frames))
    print(f"device {device}, batch {args.batch}, {args.frames} frames, {args.size}x{args.size}, "
          f"median of {args.repeats}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    for threads in (args.threads if device.type == "cpu" else [torch.get_num_threads()]):
        torch.set_num_threads(threads)
        times = measure(models, optimizers, inputs, args.repeats)
        print(f"{threads} CPU thread(s), load average {os.getloadavg()[0]:.1f} at the end:")
        report(times, gflops, device)


if __name__ == "__main__":
    main()
