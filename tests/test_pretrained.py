"""Loading a torchvision ImageNet state dict (built here from a random torchvision model; nothing is downloaded)."""
import logging
import random

import pytest
import torch
import torchvision

from ctnet.models import build_model, count_parameters


@pytest.fixture(scope="module")
def resnet50_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "resnet50.pth"
    torch.save(torchvision.models.resnet50().state_dict(), path)
    return path


def test_resnet50_loads_every_2d_key(resnet50_file, caplog):
    source = torch.load(resnet50_file, weights_only=True)
    with caplog.at_level(logging.WARNING):
        model = build_model({"pretrained": str(resnet50_file)}, num_classes=10)
    report = model.pretrained_report
    assert report["missing_2d"] == [] and report["mismatched"] == []
    assert all(".conv2." in key for key in report["fresh"])  # only the CT-Modules start anew
    replaced = model.backbone.replaced
    expected_unused = {"fc.weight", "fc.bias"} | {f"{b}.{p}" for b in replaced for p in (
        "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked")}
    assert set(report["unused"]) == expected_unused
    assert "fc.weight" in caplog.text and "layer4.1.bn2.bias" in caplog.text  # reported by name
    own = model.backbone.state_dict()
    for key in ("conv1.weight", "layer1.1.conv1.weight", "layer4.2.bn3.running_var", "layer2.0.downsample.0.weight"):
        torch.testing.assert_close(own[key], source[key])


def test_freeze_unreplaced_with_pretrained(resnet50_file):
    frozen = build_model({"pretrained": str(resnet50_file), "freeze_unreplaced": True}, num_classes=10)
    free = build_model({"pretrained": str(resnet50_file)}, num_classes=10)
    assert count_parameters(free, trainable_only=True) == count_parameters(free)
    assert 0 < count_parameters(frozen, trainable_only=True) < count_parameters(frozen) / 2
    assert not frozen.backbone.layer1[0].conv1.weight.requires_grad
    assert frozen.backbone.layer1[1].conv1.weight.requires_grad and frozen.fc.weight.requires_grad


def test_bad_pretrained_inputs(tmp_path, resnet50_file):
    with pytest.raises(FileNotFoundError, match="missing.pth: no such file"):
        build_model({"pretrained": str(tmp_path / "missing.pth")}, 10)
    with pytest.raises(ValueError, match=f"^model.pretrained: {tmp_path}: is a directory, not a weights file; "):
        build_model({"pretrained": str(tmp_path)}, 10)
    garbage = tmp_path / "garbage.pth"
    for content in (b"", random.Random(0).randbytes(4096)):
        garbage.write_bytes(content)
        with pytest.raises(ValueError, match="garbage.pth: not a torch checkpoint") as err:
            build_model({"pretrained": str(garbage)}, 10)
        assert "\n" not in str(err.value) and "weights_only" not in str(err.value)
    bad = tmp_path / "bad.pth"
    torch.save({"epoch": 3}, bad)
    with pytest.raises(ValueError, match="not a state dict of tensors"):
        build_model({"pretrained": str(bad)}, 10)
    with pytest.raises(ValueError, match="base_width 64"):
        build_model({"pretrained": str(resnet50_file), "base_width": 8}, 10)
