"""The engine's CUDA paths, skipped without a GPU: run them with `pytest -m cuda` on a GPU machine (or
benchmarks/cuda_check.sh, which adds the GPU benchmarks). A one-GPU training under autocast and channels-last that
learns, then multi-view testing against the CPU's scores; SIGTERM and resume through scripts/train.py equal to an
uninterrupted run; two NCCL processes where two GPUs exist. Their CPU counterparts are in test_engine_train.py."""

import csv
import signal
import time

import numpy as np
import pytest
import torch
import yaml

from ctnet.engine import Trainer, load_experiment
from ctnet.engine import test as run_test  # not named test_*: pytest would collect it
from ctnet.engine.distributed import init_distributed
from helpers import assert_same_weights, run_train, write_experiment

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def train_on_gpu(exp, out, ckpt_dir, *extra):
    """scripts/train.py in its own process on the GPU (the last --device wins over run_train's cpu)."""
    return run_train(exp, out, ckpt_dir, "--device", "cuda", *extra)


def finish(job):
    log, _ = job.communicate(timeout=600)
    assert job.returncode == 0, log
    return log


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_training_with_autocast_and_channels_last_learns_and_multiview_test_matches_cpu(synthetic_lists, tmp_path,
                                                                                         amp):
    """The paper's GPU settings (autocast, channels-last, cuDNN autotuning) on the 16-video subset; fp16 also
    exercises loss scaling. Tested on those videos, top-1 is far above the 25 % of chance, and the 2x3 views'
    scores agree with a full-precision CPU test of the same weights."""
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists, train_list="small.txt", epochs=40, lr=0.02,
                           clip_grad_norm=None, amp=amp, channels_last=True, deterministic=False)
    spec = yaml.safe_load(exp.read_text())
    spec["data"]["val_list"] = spec["data"]["train_list"]
    exp.write_text(yaml.safe_dump(spec))
    trainer = Trainer(load_experiment(exp), tmp_path / "run", init_distributed("cuda"))
    assert trainer.scaler.is_enabled() == (amp == "fp16")
    seen = set()

    # layer1's maps are 8 x 8 at 32 px; res5's are 1 x 1, where both memory formats look contiguous.
    def record(_module, _inputs, out):
        seen.add((out.device.type, out.dtype, out.is_contiguous(memory_format=torch.channels_last)))

    trainer.model.backbone.layer1.register_forward_hook(record)
    final = trainer.run()
    assert seen == {("cuda", AMP_DTYPES[amp], True)}

    metrics = run_test(exp, final, "1x1", tmp_path / "s.npz", device="cuda")
    assert metrics["top1"] >= 75.0, metrics
    multi = run_test(exp, final, "2x3", tmp_path / "m.npz", device="cuda")
    on_cpu = run_test(exp, final, "2x3", tmp_path / "cpu.npz", device="cpu")
    assert multi["num_videos"] == on_cpu["num_videos"] == metrics["num_videos"]
    gpu_scores, cpu_scores = np.load(tmp_path / "m.npz")["scores"], np.load(tmp_path / "cpu.npz")["scores"]
    np.testing.assert_allclose(gpu_scores, cpu_scores, atol=0.05 * np.abs(cpu_scores).max())


def test_sigterm_then_restart_on_gpu_resumes_and_matches_uninterrupted_run(synthetic_lists, tmp_path):
    """Deterministic algorithms (the helper's experiment), bf16 autocast and channels-last (the defaults); enough
    epochs that the signal, sent once the first checkpoint exists, lands before the run ends."""
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists, epochs=8)
    finish(train_on_gpu(exp, tmp_path / "ref", tmp_path / "ref_ckpt"))

    interrupted = train_on_gpu(exp, tmp_path / "run", tmp_path / "ckpt")
    while not (tmp_path / "ckpt/last.pt").exists():
        assert interrupted.poll() is None, interrupted.communicate()[0]
        time.sleep(0.05)
    interrupted.send_signal(signal.SIGTERM)
    log, _ = interrupted.communicate(timeout=600)
    assert interrupted.returncode == 128 + signal.SIGTERM, log
    assert not (tmp_path / "run/final.pt").exists()

    assert f"resumed from {tmp_path / 'ckpt/last.pt'}" in finish(train_on_gpu(exp, tmp_path / "run", tmp_path / "ckpt"))
    assert_same_weights(tmp_path / "run/final.pt", tmp_path / "ref/final.pt")


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_train_script_runs_two_nccl_processes(synthetic_lists, tmp_path):
    """torchrun with the NCCL backend: sharded training and validation, checkpoints gathered from both ranks."""
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists, epochs=2, eval_every=1)
    log = finish(train_on_gpu(exp, tmp_path / "run", tmp_path / "ckpt", "--gpus", "2"))
    assert "2 process(es), batch 4 per process" in log
    with open(tmp_path / "run/metrics.csv", newline="") as metrics:
        rows = list(csv.DictReader(metrics))
    assert [row["epoch"] for row in rows] == ["1", "2"] and all(row["val_top1"] for row in rows)
    assert (tmp_path / "run/final.pt").exists()
