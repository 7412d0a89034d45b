"""Time CT-Net-R50 against the TSN-R50 baseline in one run and print the ratios.

    .venv/bin/python benchmarks/bench_model_speed.py [--device cpu|cuda] [--batch 1] [--repeats 5]

Both models: ResNet-50 (base_width 64), 8 frames, 224 x 224, 174 classes. Times are medians over ``--repeats``
measurements taken alternately (TSN, CT, TSN, CT, ...) so that load changes hit both alike. The paper's
claim to compare against is the FLOPs ratio CT/TSN (fvcore, printed too): the official implementation runs
1.07x slower than TSN for inference on a 2-core CPU although it has 0.87x its FLOPs.
"""
import argparse
import statistics
import time

import torch

from ctnet.flops import count_flops
from ctnet.models import build_model

SPECS = {"TSN-R50": {"module": "tsn"}, "CT-Net-R50": {}}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=1, help="clips per forward pass")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model and mode")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    return parser.parse_args()


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_inference(model, clip):
    model.eval()
    _sync(clip.device)
    start = time.perf_counter()
    with torch.no_grad():
        model(clip)
    _sync(clip.device)
    return time.perf_counter() - start


def time_train_step(model, clip, labels, optimizer):
    model.train()
    _sync(clip.device)
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(clip), labels).backward()
    optimizer.step()
    _sync(clip.device)
    return time.perf_counter() - start


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    models = {name: build_model(dict(spec, num_segments=args.frames), 174) for name, spec in SPECS.items()}
    gflops = {name: count_flops(model, args.frames, args.size)["gflops"] for name, model in models.items()}
    models = {name: model.to(device) for name, model in models.items()}
    optimizers = {name: torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9) for name, model in models.items()}
    clip = torch.randn(args.batch, 3, args.frames, args.size, args.size, device=device)
    labels = torch.zeros(args.batch, dtype=torch.long, device=device)
    times = {(name, mode): [] for name in models for mode in ("inference", "train step")}
    for name, model in models.items():  # warm-up: allocator, kernel selection
        time_inference(model, clip)
        time_train_step(model, clip, labels, optimizers[name])
    for _ in range(args.repeats):
        for name, model in models.items():
            times[name, "inference"].append(time_inference(model, clip))
            times[name, "train step"].append(time_train_step(model, clip, labels, optimizers[name]))
    print(f"device {device} ({torch.get_num_threads()} CPU threads), batch {args.batch}, {args.frames} frames, "
          f"{args.size}x{args.size}, median of {args.repeats}")
    for name in models:
        print(f"{name:11s} {gflops[name]:6.2f} GFLOPs  inference {statistics.median(times[name, 'inference']):.3f} s"
              f"  train step {statistics.median(times[name, 'train step']):.3f} s")
    flops_ratio = gflops["CT-Net-R50"] / gflops["TSN-R50"]
    print(f"ratio CT/TSN: FLOPs {flops_ratio:.3f}", end="")
    for mode in ("inference", "train step"):
        ratio = statistics.median(times["CT-Net-R50", mode]) / statistics.median(times["TSN-R50", mode])
        print(f"  {mode} {ratio:.3f}", end="")
    print()


if __name__ == "__main__":
    main()
