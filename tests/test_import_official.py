"""Official CT-Net checkpoints (github.com/Andy1621/CT-Net) import into ctnet models with the same logits.

The official checkpoints here are written from the official module structure (ops/reshape_block.py, whose
ReshapeInteraction applies its fusion conv *before* the (x, y) -> (y, x) channel permutation), independently of
the converter's rules, from a reference model that computes in the official order.
"""
import copy
import os
import random
import types

import numpy as np
import pytest
import torch
import yaml
from helpers import load_script
from torch import nn

from ctnet.engine.api import load_weights
from ctnet.engine.checkpoint import load_checkpoint
from ctnet.models import build_model
from ctnet.models.ct_module import CTModule

pytestmark = pytest.mark.usefixtures("one_thread")

CT_SPEC = {"backbone": "resnet50", "module": "ct", "num_segments": 4, "base_width": 8, "dropout": 0.0}
TSN_SPEC = {**CT_SPEC, "module": "tsn"}
NUM_CLASSES = 5
importer = load_script("import_official")


def official_forward(self, x):
    """ReshapeInteraction's order: sub-dimension x, fusion, permute (x, y) -> (y, x), sub-dimension y, permute back."""
    channels = x.shape[1]
    x = self.pointwise[0](self.stages[0](x))
    x = nn.functional.channel_shuffle(x, channels // self.sub_dims[0])
    return nn.functional.channel_shuffle(self.stages[1](x), channels // self.sub_dims[1])


def official_model(spec, seed=0):
    """A model that computes as the official code, with random weights and BN statistics (float32 values, as the
    official files hold, run in float64 and eval mode)."""
    torch.manual_seed(seed)
    model = build_model(spec, NUM_CLASSES)
    for m in model.modules():
        if isinstance(m, CTModule):
            m.forward = types.MethodType(official_forward, m)
        elif isinstance(m, nn.BatchNorm2d):
            for tensor in (m.weight.data, m.bias.data, m.running_mean):
                tensor.uniform_(-0.5, 0.5)
            m.weight.data += 1
            m.running_var.uniform_(0.5, 2.0)
    nn.init.normal_(model.fc.weight)
    return model.double().eval()


def reshape_interaction_names():
    """ctnet CTModule submodule -> official ReshapeInteraction submodule (its __init__: conv1_x/_z, sx/tx/cx, ...)."""
    names = {"pointwise.0.0": "fusion.0", "pointwise.0.1": "fusion.1"}
    for stage, (conv, axis) in enumerate((("conv1", "x"), ("conv2", "y"))):
        ours = f"stages.{stage}"
        names |= {f"{ours}.spatial.0": f"{conv}_{axis}.0", f"{ours}.spatial.1": f"{conv}_{axis}.1",
                  f"{ours}.temporal.conv": f"{conv}_z.0", f"{ours}.temporal.bn": f"{conv}_z.1"}
        for kind in ("spatial", "temporal", "channel"):
            attention = f"{kind[0]}{axis}_attention"
            names |= {f"{ours}.{kind}_te.squeeze.0": f"{attention}.fc1.0",
                      f"{ours}.{kind}_te.squeeze.1": f"{attention}.fc1.1",
                      f"{ours}.{kind}_te.expand": f"{attention}.fc2.0"}
    return names


def official_state_dict(model, head="new_fc"):
    """The model's weights as the official DataParallel TSN names and shapes them (Conv3d kernels in CT-Modules)."""
    replaced = {f"backbone.{name}" for name in model.backbone.replaced}
    block_names = {"conv1": "conv1.0", "bn1": "conv1.1", "conv3": "conv3.0", "bn3": "conv3.1"}
    interaction = reshape_interaction_names()
    state = {}
    for name, tensor in model.state_dict().items():
        module, param = name.rsplit(".", 1)
        block = ".".join(module.split(".")[:3])
        if module == "fc":
            module = head
        elif block in replaced:
            rest = module[len(block) + 1:]
            if rest.startswith("conv2."):
                sub = interaction[rest[len("conv2."):]]
                if tensor.dim() == 4:  # Conv3d: (k, 1) temporal -> (k, 1, 1), k x k spatial -> (1, k, k)
                    tensor = tensor.unsqueeze(-1) if "temporal" in rest else tensor.unsqueeze(2)
                rest = f"conv2.{sub}"
            module = f"base_model.{block[len('backbone.'):]}.{block_names.get(rest, rest)}"
        else:
            module = "base_model." + module[len("backbone."):]
        state[f"module.{module}.{param}"] = tensor.clone()
    # thop's profile() in the official main.py leaves its counters in every leaf module
    state["module.base_model.conv1.total_ops"] = state["module.consensus.total_params"] = torch.zeros(1)
    return state


def save_official(path, state, legacy=False):
    """main.py's save_checkpoint, best_prec1 a numpy float as in old checkpoints (legacy: torch < 1.6's format)."""
    optimizer = {"state": {0: {"momentum_buffer": torch.ones(3)}},
                 "param_groups": [{"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4, "nesterov": False,
                                   "params": [0]}]}
    torch.save({"epoch": 3, "arch": "resnet50", "state_dict": state, "optimizer": optimizer,
                "best_prec1": np.float64(47.3)}, path, _use_new_zipfile_serialization=not legacy)
    return path


def write_experiment(tmp_path, spec, classes=True):
    lists = tmp_path / "lists"
    lists.mkdir(exist_ok=True)
    if classes:
        (lists / "classes.txt").write_text("".join(f"class{i}\n" for i in range(NUM_CLASSES)))
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": "imported", "model": spec,
                                    "data": {"dataset": "synthetic", "classes": str(lists / "classes.txt")}}))
    return path


def imported_logits(exp_path, ckpt, clips, spec):
    """Logits of a fresh model that loads ``ckpt`` as scripts/test.py does."""
    model = build_model(spec, NUM_CLASSES)
    load_weights(model, ckpt, NUM_CLASSES)
    with torch.no_grad():
        return model.double().eval()(clips)


@pytest.mark.parametrize("spec, head", [(CT_SPEC, "new_fc"), (TSN_SPEC, "base_model.fc")], ids=["ct", "tsn"])
def test_imported_weights_give_the_official_logits(tmp_path, capsys, spec, head):
    """Float64, eval mode, random BN statistics: the imported model computes what the official one does."""
    official = official_model(spec)
    ckpt = save_official(tmp_path / "official.pth.tar", official_state_dict(official, head))
    exp = write_experiment(tmp_path, spec)
    assert importer.main([str(ckpt), "--experiment", str(exp), "--out", str(tmp_path / "imported.pt")]) == 0
    clips = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        expected = official(clips)
    assert expected.abs().max() > 0.1  # logits of size, so a difference would show
    torch.testing.assert_close(imported_logits(exp, tmp_path / "imported.pt", clips, spec), expected,
                               rtol=1e-10, atol=1e-10)
    saved = load_checkpoint(tmp_path / "imported.pt")
    assert saved["epoch"] == 3 and saved["num_classes"] == NUM_CLASSES and saved["classes"][0] == "class0"
    assert saved["imported_from"] == str(ckpt)


def test_the_fusion_conv_needs_its_permutation(tmp_path):
    """Loading the official weights one-to-one (fusion not permuted) gives other logits: the test above sees it."""
    official = official_model(CT_SPEC)
    plain = copy.deepcopy(official)
    for m in plain.modules():
        if isinstance(m, CTModule):
            del m.forward  # ctnet's order: the point-wise conv after the permutation
    clips = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        assert not torch.allclose(plain(clips), official(clips), rtol=1e-3, atol=1e-3)


def test_old_checkpoint_without_classes_file(tmp_path):
    """A torch < 1.6 file whose numpy float numpy 1.x wrote; no classes file yet: the class count is new_fc's."""
    official = official_model(CT_SPEC)
    ckpt = save_official(tmp_path / "official.pth.tar", official_state_dict(official), legacy=True)
    data = ckpt.read_bytes()
    assert b"numpy._core.multiarray\nscalar" in data or b"numpy.core.multiarray\nscalar" in data
    ckpt.write_bytes(data.replace(b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar"))
    exp = write_experiment(tmp_path, CT_SPEC, classes=False)
    assert importer.main([str(ckpt), "--experiment", str(exp), "--out", str(tmp_path / "imported.pt")]) == 0
    saved = load_checkpoint(tmp_path / "imported.pt")
    assert saved["num_classes"] == NUM_CLASSES and saved["classes"] is None
    clips = torch.randn(1, 3, 4, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(imported_logits(exp, tmp_path / "imported.pt", clips, CT_SPEC), official(clips),
                                   rtol=1e-10, atol=1e-10)


def extra_key(state):
    state["module.base_model.layer2.1.conv2.gx_attention.fc1.0.weight"] = torch.zeros(1)
    return "module.base_model.layer2.1.conv2.gx_attention.fc1.0.weight"


def missing_key(state):
    del state["module.base_model.layer3.3.conv2.fusion.1.running_var"]
    return "backbone.layer3.3.conv2.pointwise.0.1.running_var"


def wrong_shape(state):
    name = "module.base_model.layer4.1.conv2.conv1_z.0.weight"
    state[name] = state[name].transpose(2, 3)
    return name


@pytest.mark.parametrize("corrupt", [extra_key, missing_key, wrong_shape])
def test_a_checkpoint_that_does_not_fit_names_the_key(tmp_path, capsys, corrupt):
    state = official_state_dict(build_model(CT_SPEC, NUM_CLASSES))
    key = corrupt(state)
    ckpt = save_official(tmp_path / "official.pth.tar", state)
    out = tmp_path / "imported.pt"
    assert importer.main([str(ckpt), "--experiment", str(write_experiment(tmp_path, CT_SPEC)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("import_official.py: error: ") and err.count("\n") == 1 and key in err
    assert not out.exists()


class RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_crafted_pickle_is_refused_without_running_it(tmp_path, capsys):
    marker = tmp_path / "ran"
    ckpt = tmp_path / "crafted.pth.tar"
    torch.save({"epoch": 3, "state_dict": {}, "best_prec1": RunsACommand(marker)}, ckpt)
    exp = write_experiment(tmp_path, TSN_SPEC)
    assert importer.main([str(ckpt), "--experiment", str(exp), "--out", str(tmp_path / "imported.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"import_official.py: error: {ckpt}: ") and err.count("\n") == 1 and "system" in err
    assert not marker.exists()


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"), (b"", "not a torch checkpoint"), (b"not a torch file", "not a torch checkpoint"),
    (random.Random(0).randbytes(4096), "not a torch checkpoint"), ("folder", "is a directory, not a weights file"),
], ids=["missing", "empty", "text", "random", "directory"])
def test_an_unreadable_file_is_one_line(tmp_path, capsys, content, problem):
    """One line naming the file and what it is, never torch's advice to load it again without weights_only
    (unsafe, and useless for garbage) nor "does not exist" for a directory."""
    ckpt = tmp_path / "official.pth.tar"
    if content == "folder":
        ckpt.mkdir()
    elif content is not None:
        ckpt.write_bytes(content)
    exp = write_experiment(tmp_path, TSN_SPEC)
    assert importer.main([str(ckpt), "--experiment", str(exp), "--out", str(tmp_path / "imported.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"import_official.py: error: {ckpt}: {problem}") and err.count("\n") == 1
    assert "weights_only" not in err
