"""The official code's recipe where it differs from the paper's text, one opt-in key each (defaults: today's
behaviour): model.frozen_bn, train.head_lr_scale, model.dropout_on, pretrained "torchvision:<version>",
train.select."""

import logging
import shutil
import signal

import pytest
import torch
import torchvision
import yaml

from ctnet.engine import Trainer, TrainingInterrupted, load_experiment
from ctnet.engine.checkpoint import load_checkpoint
from ctnet.engine.distributed import init_distributed
from ctnet.engine.schedule import WarmupCosine
from ctnet.engine.trainer import parameter_groups
from ctnet.experiment import TRAIN_DEFAULTS, ExperimentError, resolve_experiment
from ctnet.models import build_model, resolve_spec, torchvision_weights
from ctnet.models.pretrained import read_state_dict
from helpers import write_experiment

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"backbone": "resnet26", "base_width": 4, "num_segments": 2}
MINIMAL = {"name": "x", "model": {"backbone": "resnet50"}, "data": {"dataset": "sthv1"}}


def _clip(batch=4, frames=2, size=32):
    return torch.randn(batch, 3, frames, size, size)


# ------------------------------------------------------------------------------------------------ model.frozen_bn
def test_frozen_bn_batch_normalises_frozen_layers_with_batch_statistics():
    """--npb: frozen BNs train with batch statistics and update their running statistics; their affine
    parameters stay frozen (no gradient, not in the optimiser). The default keeps them in eval mode."""
    torch.manual_seed(0)
    batch = build_model({**TINY, "freeze_unreplaced": True, "frozen_bn": "batch"}, 3)
    frozen = build_model({**TINY, "freeze_unreplaced": True}, 3)
    assert resolve_spec({})["frozen_bn"] == "frozen"
    x = _clip()
    for model, trains in ((batch, True), (frozen, False)):
        model.train()
        stem_bn = model.backbone.bn1  # frozen: the stem is never replaced
        assert not stem_bn.weight.requires_grad and not stem_bn.bias.requires_grad
        assert stem_bn.training is trains
        before = stem_bn.running_mean.clone(), stem_bn.num_batches_tracked.clone()
        model(x).sum().backward()
        assert (not torch.equal(stem_bn.running_mean, before[0])) is trains
        assert (stem_bn.num_batches_tracked != before[1]).item() is trains
        assert stem_bn.weight.grad is None and stem_bn.bias.grad is None
        in_optimiser = {id(p) for group in parameter_groups(model, 1e-4) for p in group["params"]}
        assert id(stem_bn.weight) not in in_optimiser and id(stem_bn.bias) not in in_optimiser
        assert model.backbone.layer1[1].bn1.training  # a replaced block's BN trains either way
    # Eval is the same for both: running statistics.
    batch.eval()
    frozen.load_state_dict(batch.state_dict())
    frozen.eval()
    with torch.no_grad():
        torch.testing.assert_close(batch(x), frozen(x))
    with pytest.raises(ValueError, match="model spec: frozen_bn = "):
        resolve_spec({"frozen_bn": "train"})


# -------------------------------------------------------------------------------------------- train.head_lr_scale
def test_head_lr_scale_gives_the_classifier_5x_weight_and_10x_bias_learning_rates_through_the_schedule():
    torch.manual_seed(0)
    model = build_model(TINY, 3)
    default = parameter_groups(model, 1e-4, TRAIN_DEFAULTS["head_lr_scale"], 0.1)
    assert len(default) == 2 and [g["weight_decay"] for g in default] == [1e-4, 0.0]
    assert all("lr" not in g for g in default)  # exactly today's two groups
    assert any(p is model.fc.weight for p in default[0]["params"])

    groups = parameter_groups(model, 1e-4, {"weight": 5, "bias": 10}, 0.1)
    assert len(groups) == 4
    assert groups[2]["params"] == [model.head.weight] and groups[3]["params"] == [model.head.bias]
    assert (groups[2]["weight_decay"], groups[3]["weight_decay"]) == (1e-4, 0.0)
    head = {id(model.fc.weight), id(model.fc.bias)}
    assert not head & {id(p) for g in groups[:2] for p in g["params"]}
    assert sum(len(g["params"]) for g in groups) == sum(len(g["params"]) for g in default)

    optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(20, 5))
    for _ in range(7):  # through warm-up into the cosine
        model(_clip()).sum().backward()
        optimizer.step()
        scheduler.step()
    lrs = [g["lr"] for g in optimizer.param_groups]
    assert 0 < lrs[0] < 0.1 and lrs[1] == lrs[0]
    assert lrs[2] == pytest.approx(5 * lrs[0]) and lrs[3] == pytest.approx(10 * lrs[0])


def test_head_lr_scale_is_checked_and_filled():
    train = resolve_experiment({**MINIMAL, "train": {"head_lr_scale": {"weight": 5}}})["train"]
    assert train["head_lr_scale"] == {"weight": 5, "bias": 1.0}
    assert train["head_lr_scale"] is not TRAIN_DEFAULTS["head_lr_scale"]
    for bad in ({"weight": 0}, {"fc": 5}, 5, {"bias": "10"}):
        with pytest.raises(ExperimentError, match="train.head_lr_scale must map weight and/or bias"):
            resolve_experiment({**MINIMAL, "train": {"head_lr_scale": bad}})


# ---------------------------------------------------------------------------------------------- model.dropout_on
def test_dropout_on_frames_or_clip_equal_in_eval_different_in_training():
    torch.manual_seed(0)
    clip = build_model({**TINY, "dropout": 0.5}, 5)
    frames = build_model({**TINY, "dropout": 0.5, "dropout_on": "frames"}, 5)
    assert resolve_spec({})["dropout_on"] == "clip"
    frames.load_state_dict(clip.state_dict())
    x = _clip()
    clip.eval(), frames.eval()
    with torch.no_grad():
        torch.testing.assert_close(frames(x), clip(x), rtol=1e-5, atol=1e-6)
    clip.train(), frames.train()
    with torch.no_grad():
        torch.manual_seed(1)
        out_clip = clip(x)
        torch.manual_seed(1)
        out_frames = frames(x)
    assert out_clip.shape == out_frames.shape == (4, 5)
    assert not torch.allclose(out_clip, out_frames, rtol=1e-3, atol=1e-4)

    # The masks themselves: "clip" drops a feature for the whole clip, "frames" per frame.
    for placement, per_frame in (("clip", False), ("frames", True)):
        width = clip.backbone.out_channels
        model = build_model({**TINY, "num_segments": 8, "dropout": 0.5, "dropout_on": placement}, width)
        model.backbone.forward = lambda _x: torch.ones(2 * 8, width)  # (N*T, F): a stand-in trunk
        with torch.no_grad():
            model.fc.weight.copy_(torch.eye(width))
            model.fc.bias.zero_()
        torch.manual_seed(2)
        logits = model.train()(torch.zeros(2, 3, 8, 4, 4))  # (N, F): averaged kept-and-scaled features
        # One mask per clip: each feature is 0 or 2; per-frame masks: averages of 8 such values.
        on_grid = torch.isin(logits, torch.tensor([0.0, 2.0])).all().item()
        assert on_grid is not per_frame, placement
    with pytest.raises(ValueError, match="model spec: dropout_on "):
        resolve_spec({"dropout_on": "features"})


# ----------------------------------------------------------------------------------- pretrained: torchvision:<ver>
def test_torchvision_weights_need_their_version():
    with pytest.raises(ValueError, match="name the version|naming the weights version") as err:
        resolve_spec({"pretrained": "torchvision"})
    assert "\n" not in str(err.value) and "torchvision:IMAGENET1K_V1" in str(err.value)
    with pytest.raises(ValueError, match="name the version") as err:
        read_state_dict("torchvision", "resnet50")
    assert "\n" not in str(err.value)
    for backbone in ("resnet50", "resnet101"):
        for version in ("IMAGENET1K_V1", "IMAGENET1K_V2"):
            assert resolve_spec({"backbone": backbone, "pretrained": f"torchvision:{version}"})["pretrained"] == \
                f"torchvision:{version}"
    assert resolve_spec({"backbone": "inception_v3", "pretrained": "torchvision:IMAGENET1K_V1"})
    for spec in ({"pretrained": "torchvision:IMAGENET1K_V3"},
                 {"backbone": "inception_v3", "pretrained": "torchvision:IMAGENET1K_V2"},
                 {"backbone": "resnet26", "pretrained": "torchvision:IMAGENET1K_V1"}, {"pretrained": 1}):
        with pytest.raises(ValueError, match="model spec: pretrained "):
            resolve_spec(spec)
    assert resolve_spec({"pretrained": "data/weights/resnet50-0676ba61.pth"})  # a .pth path stays accepted


def test_torchvision_versions_map_to_the_weights_enum_without_downloading():
    from torchvision.models import Inception_V3_Weights, ResNet50_Weights, ResNet101_Weights

    assert torchvision_weights("resnet50", "IMAGENET1K_V1") is ResNet50_Weights.IMAGENET1K_V1
    assert torchvision_weights("resnet50", "IMAGENET1K_V2") is ResNet50_Weights.IMAGENET1K_V2
    assert torchvision_weights("resnet101", "IMAGENET1K_V1") is ResNet101_Weights.IMAGENET1K_V1
    assert torchvision_weights("inception_v3", "IMAGENET1K_V1") is Inception_V3_Weights.IMAGENET1K_V1
    # V1 is the original 2017 training (76.13 top-1) the official code loads as resnet50-19c8e357.pth; torchvision
    # now serves it re-serialised under another hash (pytorch/vision#2068).
    v1 = ResNet50_Weights.IMAGENET1K_V1
    assert v1.url.endswith("resnet50-0676ba61.pth") and v1.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 76.13
    assert ResNet101_Weights.IMAGENET1K_V1.url.endswith("resnet101-63fe2227.pth")
    with pytest.raises(ValueError, match="no IMAGENET1K_V9 weights for resnet50"):
        torchvision_weights("resnet50", "IMAGENET1K_V9")
    assert torchvision.__version__  # the enum comes from the installed torchvision


# --------------------------------------------------------------------------------------------------- train.select
def test_select_best_needs_validation_every_epoch():
    assert resolve_experiment(MINIMAL)["train"]["select"] == "last"
    with pytest.raises(ExperimentError, match="train.select: best needs train.eval_every: 1") as err:
        resolve_experiment({**MINIMAL, "train": {"select": "best"}})
    assert "\n" not in str(err.value)
    with pytest.raises(ExperimentError, match="train.select must be one of last, best"):
        resolve_experiment({**MINIMAL, "train": {"select": "first"}})
    assert resolve_experiment({**MINIMAL, "train": {"select": "best", "eval_every": 1}})["train"]["select"] == "best"


def _experiment(root, tmp_path, name, **train):
    path = write_experiment(tmp_path / f"{name}.yaml", root, train_list="small.txt", **train)
    spec = yaml.safe_load(path.read_text())
    spec["data"]["val_list"] = str(root / "lists/small.txt")
    path.write_text(yaml.safe_dump(spec))
    return load_experiment(path)


def test_select_last_records_the_last_epoch(synthetic_lists, tmp_path):
    exp = _experiment(synthetic_lists, tmp_path, "last", epochs=1)
    final = load_checkpoint(Trainer(exp, tmp_path / "run", init_distributed("cpu")).run())
    assert final["selected"] == {"rule": "last", "epoch": 1}
    assert not (tmp_path / "run/checkpoints/best.pt").exists()


def test_select_best_keeps_the_best_epoch_across_resumes(synthetic_lists, tmp_path, monkeypatch, caplog):
    """val_top1 per epoch is scripted (50, 80, 60, 70; the model trains for real): final.pt must hold epoch 2's
    weights after stops at the ends of epochs 2 and 3, also when the stop fell between last.pt and best.pt."""
    exp = _experiment(synthetic_lists, tmp_path, "best", epochs=4, eval_every=1, select="best",
                      head_lr_scale={"weight": 5, "bias": 10})
    scores, stop_after = [50.0, 80.0, 60.0, 70.0], set()

    def scripted_validate(self):
        if self.epoch + 1 in stop_after:
            self.stop_signal = signal.SIGTERM  # honoured once the epoch's checkpoints are written
        return {"val_top1": scores[self.epoch], "val_top5": 100.0, "val_mean_class_acc": scores[self.epoch]}

    monkeypatch.setattr(Trainer, "validate", scripted_validate)
    ckpt, run = tmp_path / "ckpt", tmp_path / "run"

    def trainer():
        return Trainer(exp, run, init_distributed("cpu"), ckpt_dir=ckpt)

    stop_after.add(2)
    with pytest.raises(TrainingInterrupted):
        trainer().run()
    at_two = load_checkpoint(ckpt / "last.pt")
    assert (at_two["epoch"], at_two["best"]) == (2, {"epoch": 2, "val_top1": 80.0})
    best = load_checkpoint(ckpt / "best.pt")
    assert best["epoch"] == 2 and all(torch.equal(best["model"][k], v) for k, v in at_two["model"].items())
    lrs = [g["lr"] for g in at_two["optimizer"]["param_groups"]]
    assert len(lrs) == 4 and lrs[2] == pytest.approx(5 * lrs[0]) and lrs[3] == pytest.approx(10 * lrs[0])
    shutil.copy(ckpt / "last.pt", tmp_path / "epoch2.pt")

    # A stop between writing last.pt and best.pt: best.pt is written again from last.pt on resume.
    (ckpt / "best.pt").unlink()
    stop_after.add(3)
    with caplog.at_level(logging.INFO, logger="ctnet.engine.trainer"), pytest.raises(TrainingInterrupted):
        trainer().run()
    assert "at epoch 2" in caplog.text and f"wrote {ckpt / 'best.pt'} from" in caplog.text
    assert load_checkpoint(ckpt / "last.pt")["best"] == {"epoch": 2, "val_top1": 80.0}

    final = load_checkpoint(trainer().run())
    assert final["selected"] == {"rule": "best", "epoch": 2, "val_top1": 80.0} and final["epoch"] == 4
    expected = load_checkpoint(tmp_path / "epoch2.pt")["model"]
    assert final["model"].keys() == expected.keys()
    assert all(torch.equal(final["model"][key], value) for key, value in expected.items())
    last = load_checkpoint(ckpt / "last.pt")["model"]
    assert not all(torch.equal(last[key], value) for key, value in expected.items())
    assert (run / "metrics.csv").read_text().count("\n") == 1 + 4

    # best.pt lost while the best epoch lies behind last.pt: refused in one line, nothing trained.
    (ckpt / "best.pt").unlink()
    with pytest.raises(RuntimeError, match="best.pt: missing or not the weights of the best epoch 2") as err:
        trainer().run()
    assert "\n" not in str(err.value)
