"""End-to-end engine tests on the real synthetic data path (generator -> frame extraction -> lists -> dataset)
with the real `build_model` at CPU scale: a short run learns, multi-view testing, SIGTERM + resume equals an
uninterrupted run, and a non-finite loss stops the run keeping the last good checkpoint."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml

from ctnet.data import build_dataset
from ctnet.engine import NonFiniteLossError, Trainer, load_experiment, train
from ctnet.engine import test as run_test  # not named test_*: pytest would collect it
from ctnet.engine.checkpoint import load_checkpoint
from ctnet.engine.distributed import cleanup_distributed, init_distributed
from ctnet.engine.evaluator import predict_views
from ctnet.engine import trainer as trainer_module
from ctnet.engine.trainer import build_optimizer, parameter_groups
from ctnet.models import build_model
from helpers import NUM_CLASSES, ROOT, TINY_MODEL, load_script, run_train, write_experiment

pytestmark = pytest.mark.usefixtures("one_thread")


def test_short_run_learns_and_multiview_test_writes_scores(synthetic_lists, tmp_path):
    """Training fits the 16-video subset: tested on those videos (fresh centre clips, not the training crops),
    top-1 is far above the 25% of chance. Generalising on this motion task takes longer than a unit test."""
    small = str(synthetic_lists / "lists/small.txt")
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists, epochs=40, eval_every=40, lr=0.02, clip_grad_norm=None)
    spec = yaml.safe_load(exp.read_text())
    spec["data"].update(train_list=small, val_list=small)
    exp.write_text(yaml.safe_dump(spec))
    final = train(exp, tmp_path / "run", device="cpu")
    weights = load_checkpoint(final)
    assert weights["num_classes"] == NUM_CLASSES and weights["epoch"] == 40
    rows = (tmp_path / "run/metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 40 and rows[0].startswith("epoch,lr,train_loss")
    assert any((tmp_path / "run/tb").iterdir())

    metrics = run_test(exp, final, "1x1", tmp_path / "s.npz", device="cpu")
    assert metrics["top1"] >= 75.0, metrics
    saved = np.load(tmp_path / "s.npz")
    assert saved["scores"].shape == (metrics["num_videos"], NUM_CLASSES)
    assert json.loads((tmp_path / "s.json").read_text())["top1"] == metrics["top1"]

    multi = run_test(exp, final, "2x3", tmp_path / "m.npz", device="cpu")
    assert multi["num_videos"] == metrics["num_videos"] and multi["top1"] > 100 / NUM_CLASSES


def test_views_are_batched_without_changing_scores(synthetic_lists, tmp_path):
    exp = load_experiment(write_experiment(tmp_path / "e.yaml", synthetic_lists))
    protocol = exp["protocols"]["2x3"]
    dataset = build_dataset(exp["data"], "val", protocol=protocol)
    views = torch.stack([dataset[0][0], dataset[1][0]])  # (2 videos, 6 views, 3, T, S, S)
    assert views.shape == (2, 6, 3, 4, 32, 32)
    torch.manual_seed(0)
    model = build_model(exp["model"], NUM_CLASSES).eval()
    one_by_one = predict_views(model, views, 1, "scores", torch.device("cpu"))
    all_at_once = predict_views(model, views, 12, "scores", torch.device("cpu"))
    torch.testing.assert_close(one_by_one, all_at_once, rtol=1e-4, atol=1e-5)
    expected = model(views.flatten(0, 1)).view(2, 6, -1)
    torch.testing.assert_close(all_at_once, expected.mean(1), rtol=1e-4, atol=1e-5)
    probs = predict_views(model, views, 5, "softmax", torch.device("cpu"))
    torch.testing.assert_close(probs, expected.softmax(-1).mean(1), rtol=1e-4, atol=1e-5)


def test_sigterm_then_restart_resumes_and_matches_uninterrupted_run(synthetic_lists, tmp_path):
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists, epochs=3)
    reference = run_train(exp, tmp_path / "ref", tmp_path / "ref_ckpt")
    log, _ = reference.communicate(timeout=600)
    assert reference.returncode == 0, log

    # Kill once the first epoch's checkpoint exists, i.e. somewhere in epoch 2.
    interrupted = run_train(exp, tmp_path / "run", tmp_path / "ckpt")
    deadline = time.monotonic() + 600
    while not (tmp_path / "ckpt/last.pt").exists():
        assert interrupted.poll() is None and time.monotonic() < deadline, interrupted.communicate()[0]
        time.sleep(0.2)
    interrupted.send_signal(signal.SIGTERM)
    log, _ = interrupted.communicate(timeout=600)
    assert interrupted.returncode == 128 + signal.SIGTERM, log
    assert "checkpoint saved to" in log
    stopped_at = load_checkpoint(tmp_path / "ckpt/last.pt")["epoch"]
    assert not (tmp_path / "run/final.pt").exists()

    resumed = run_train(exp, tmp_path / "run", tmp_path / "ckpt")
    log, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, log
    assert f"resumed from {tmp_path / 'ckpt/last.pt'} at epoch {stopped_at}" in log
    final, ref = load_checkpoint(tmp_path / "run/final.pt"), load_checkpoint(tmp_path / "ref/final.pt")
    assert final["model"].keys() == ref["model"].keys()
    for key, value in ref["model"].items():
        assert torch.equal(final["model"][key], value), key
    assert (tmp_path / "run/metrics.csv").read_text().count("\n") == 1 + 3


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(synthetic_lists, tmp_path):
    exp = load_experiment(write_experiment(tmp_path / "e.yaml", synthetic_lists, epochs=2))
    calls = {"n": 0}

    def poisoned_model(spec, num_classes):
        """The real model, whose 20th forward pass (epoch 2 of 16 steps) returns NaN scores."""
        model = build_model(spec, num_classes)

        def hook(_module, _inputs, output):
            calls["n"] += 1
            return output * float("nan") if calls["n"] == 20 else output

        model.register_forward_hook(hook)
        return model

    trainer = Trainer(exp, tmp_path / "run", init_distributed("cpu"), build_model=poisoned_model)
    with pytest.raises(NonFiniteLossError, match="non-finite loss at epoch 2 step 4.*last good checkpoint"):
        trainer.run()
    kept = load_checkpoint(tmp_path / "run/checkpoints/last.pt")
    assert (kept["epoch"], kept["step_in_epoch"]) == (1, 0)
    assert all(torch.isfinite(v).all() for v in kept["model"].values() if v.is_floating_point())
    assert not (tmp_path / "run/final.pt").exists()


def test_non_finite_loss_names_the_checkpoint_that_exists_and_train_log_keeps_every_attempt(
        synthetic_lists, tmp_path, monkeypatch, capsys):
    """Other settings whose loss is NaN at once: the first attempt keeps the earlier checkpoint aside, so none of
    these settings exists and the error says so. A retry (Snakemake deletes the job's log first) appends to
    train.log, which keeps both attempts, the kept-aside line and the error lines."""
    script = load_script("train")
    out, ckpt = tmp_path / "run", tmp_path / "ckpt"

    def args(exp):
        return ["--experiment", str(exp), "--out", str(out), "--ckpt-dir", str(ckpt), "--device", "cpu"]

    assert script.main(args(write_experiment(tmp_path / "a.yaml", synthetic_lists, train_list="small.txt",
                                             epochs=1))) == 0
    digest = load_checkpoint(ckpt / "last.pt")["digest"]
    other = write_experiment(tmp_path / "b.yaml", synthetic_lists, train_list="small.txt", epochs=1, lr=0.02)
    monkeypatch.setattr(trainer_module, "F", SimpleNamespace(cross_entropy=lambda logits, _: logits.sum() * np.nan))
    capsys.readouterr()
    for _attempt in range(2):
        assert script.main(args(other)) == 3
    err = capsys.readouterr().err
    assert err.count(f"no checkpoint of these settings exists ({ckpt / 'last.pt'}), so a rerun starts over") == 2
    assert "last good checkpoint" not in err
    log = (out / "train.log").read_text()
    assert log.count(f"every attempt's log is appended to {out / 'train.log'}") == 3
    assert log.count(f"kept as {ckpt / f'last.{digest}.pt'}") == 1
    assert log.count("ERROR tiny: non-finite loss at epoch 1 step 1; no checkpoint") == 2


def test_bad_experiment_is_a_one_line_error(tmp_path):
    (tmp_path / "e.yaml").write_text("name: x\nmodel: {}\n")
    done = subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--experiment", str(tmp_path / "e.yaml"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path / 'e.yaml'}: missing required key 'data' (see docs/experiment.md)"


def test_fine_tuning_starts_from_trained_weights_with_a_fresh_classifier(synthetic_lists, tmp_path):
    """train.init_from (Table 5: Kinetics-400 -> UCF101): every tensor comes from the source model except the
    classifier of the other class count; another architecture is refused, naming the file."""
    torch.manual_seed(1)
    source = build_model(TINY_MODEL, 400)
    torch.save({"model": source.state_dict(), "num_classes": 400}, tmp_path / "kinetics.pt")
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists, init_from=str(tmp_path / "kinetics.pt"))
    ctx = init_distributed("cpu")
    tuned = Trainer(load_experiment(exp), tmp_path / "run", ctx).model.state_dict()
    assert tuned["fc.weight"].shape == (NUM_CLASSES, source.fc.in_features)
    for name, tensor in source.state_dict().items():
        if not name.startswith("fc."):
            torch.testing.assert_close(tuned[name], tensor, msg=name)

    torch.save({"model": build_model({**TINY_MODEL, "module": "tsn"}, 400).state_dict()}, tmp_path / "tsn.pt")
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists, init_from=str(tmp_path / "tsn.pt"))
    with pytest.raises(ValueError, match=r"tsn.pt: weights of another architecture"):
        Trainer(load_experiment(exp), tmp_path / "run2", ctx)


def _one_step(rank, world_size, exp_path, out, port):
    """One engine training step on this rank's share of a fixed global batch of 8 clips; saves the gradients."""
    if world_size > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                          LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    torch.set_num_threads(1)
    ctx = init_distributed("cpu")
    try:
        trainer = Trainer(load_experiment(exp_path), Path(out) / f"run{world_size}", ctx)
        generator = torch.Generator().manual_seed(0)
        clips = torch.randn(8, 3, 4, 32, 32, generator=generator)
        labels = torch.randint(0, NUM_CLASSES, (8,), generator=generator)
        share = 8 // world_size
        # Eval mode: BatchNorm then uses running statistics, so one process's full batch and two processes'
        # half batches compute the same function and DDP's mean of the halves' gradients must equal it.
        trainer.model.eval()
        trainer.train_step([(clips[rank * share:(rank + 1) * share], labels[rank * share:(rank + 1) * share])])
        if rank == 0:
            grads = {name: p.grad.clone() for name, p in trainer.model.named_parameters() if p.grad is not None}
            torch.save(grads, Path(out) / f"grads{world_size}.pt")
    finally:
        cleanup_distributed()


def test_two_process_ddp_averages_gradients_like_one_process(synthetic_lists, tmp_path):
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists)
    _one_step(0, 1, exp, tmp_path, None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    torch.multiprocessing.spawn(_one_step, args=(2, exp, tmp_path, port), nprocs=2)
    single, ddp = torch.load(tmp_path / "grads1.pt"), torch.load(tmp_path / "grads2.pt")
    assert single.keys() == ddp.keys() and len(single) > 10
    for name, grad in single.items():
        torch.testing.assert_close(ddp[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_train_script_relaunches_itself_on_two_cpu_processes(synthetic_lists, tmp_path):
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists, epochs=1, eval_every=1)
    spec = yaml.safe_load(exp.read_text())
    spec["data"]["workers"] = 1  # also covers the DataLoader worker processes
    exp.write_text(yaml.safe_dump(spec))
    run = run_train(exp, tmp_path / "run", tmp_path / "ckpt", "--gpus", "2")
    log, _ = run.communicate(timeout=600)
    assert run.returncode == 0, log
    assert "2 process(es), batch 4 per process" in log
    assert load_checkpoint(tmp_path / "run/final.pt")["epoch"] == 1
    assert "val_top1" in (tmp_path / "run/metrics.csv").read_text().splitlines()[0]


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_optimizer_steps_all_tensors_at_once_to_the_per_tensor_result(optimizer):
    cfg = {"optimizer": optimizer, "momentum": 0.9}
    models_, optimizers = [], []
    for build in (lambda groups: build_optimizer(groups, cfg, 0.01),
                  lambda groups: (torch.optim.AdamW(groups, lr=0.01, foreach=False) if optimizer == "adamw" else
                                  torch.optim.SGD(groups, lr=0.01, momentum=0.9, foreach=False))):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                                    torch.nn.Linear(64, 2))
        models_.append(model)
        optimizers.append(build(parameter_groups(model, 1e-4)))
    assert optimizers[0].defaults["foreach"] is True
    torch.manual_seed(1)
    for x in torch.randn(3, 5, 3, 6, 6):
        for model, opt in zip(models_, optimizers):
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
    for fast, loop in zip(models_[0].parameters(), models_[1].parameters()):
        assert torch.equal(fast, loop)


def test_deterministic_training_skips_nan_filling_and_keeps_the_weights(synthetic_lists, tmp_path):
    """Deterministic mode fills each new tensor with NaN unless told not to; the trainer turns that off, and a
    CT-Net trains to the same weights bit for bit either way (a kernel reading unwritten memory would differ)."""
    torch.utils.deterministic.fill_uninitialized_memory = True
    Trainer(load_experiment(write_experiment(tmp_path / "e.yaml", synthetic_lists)), tmp_path / "run",
            init_distributed("cpu"))
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.utils.deterministic.fill_uninitialized_memory is False
    weights = []
    try:
        for fill in (True, False):
            torch.utils.deterministic.fill_uninitialized_memory = fill
            torch.manual_seed(0)
            model = build_model(TINY_MODEL, NUM_CLASSES)
            optimizer = build_optimizer(parameter_groups(model, 1e-4), {"optimizer": "adamw"}, 0.01)
            torch.manual_seed(1)
            for x in torch.randn(3, 2, 3, 4, 32, 32):
                optimizer.zero_grad()
                model(x).logsumexp(1).mean().backward()
                optimizer.step()
            weights.append(model.state_dict())
    finally:
        torch.utils.deterministic.fill_uninitialized_memory = False
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
