import numpy as np
import pytest
import torch

from ctnet.data.transforms import TestTransform as ViewTransform  # aliased: pytest collects Test* names
from ctnet.data.transforms import (IMAGENET_MEAN, IMAGENET_STD, MultiScaleCrop, Normalize,
                                   TrainTransform, check_flip_label_map, mirror_class_name, resize,
                                   resize_short_side)


def _clip(t=4, h=60, w=80):
    # Each pixel holds its column in channel 0 and its frame in channel 1, so crops and flips can be traced.
    frames = torch.zeros(t, 3, h, w, dtype=torch.uint8)
    frames[:, 0] = torch.arange(w, dtype=torch.uint8)
    frames[:, 1] = torch.arange(t, dtype=torch.uint8)[:, None, None]
    return frames


def test_normalize_matches_imagenet_formula_and_layout():
    frames = torch.randint(0, 256, (4, 3, 5, 6), dtype=torch.uint8)
    out = Normalize()(frames)
    assert out.shape == (3, 4, 5, 6) and out.dtype == torch.float32
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1, 1)
    expected = (frames.permute(1, 0, 2, 3).float() / 255 - mean) / std
    torch.testing.assert_close(out, expected)


def test_multiscale_crop_boxes_follow_tsm_scales_and_grid():
    crop = MultiScaleCrop(size=112, scales=(1.0, 0.875, 0.75, 0.66))
    rng = np.random.default_rng(0)
    base = 128  # 128 x 170 frames: crop sides from int(128 * scale)
    sides = {128, 112, 96, 84}  # int(128 * .875) = 112 is the output size itself
    boxes = {crop.crop_box(128, 170, rng) for _ in range(2000)}
    for top, left, h, w in boxes:
        assert h in sides and w in sides
        assert abs([128, 112, 96, 84].index(h) - [128, 112, 96, 84].index(w)) <= 1  # max_distort = 1
        assert top % ((base - h) // 4 or 1) == 0 and left % ((170 - w) // 4 or 1) == 0
        assert top + h <= 128 and left + w <= 170
    assert len({(t, l) for t, l, h, w in boxes if (h, w) == (96, 96)}) == 13  # TSM's 13 fixed offsets


def test_train_transform_output_and_flip_with_label_map():
    transform = TrainTransform(size=32, scales=(1.0,), flip=True, flip_label_map={0: 1, 1: 0})
    rng = np.random.default_rng(1)
    frames = _clip()
    labels = set()
    for _ in range(40):
        out, label = transform(frames, 0, rng)
        assert out.shape == (3, 4, 32, 32)
        columns = out[0, 0, 0]  # channel 0 increases with the column unless flipped
        flipped = bool(columns[0] > columns[-1])
        assert label == (1 if flipped else 0)
        labels.add(label)
    assert labels == {0, 1}
    # Frame order is kept: channel 1 encodes the frame number
    assert torch.all(out[1, :, 0, 0].diff() > 0)


def test_train_transform_without_flip_keeps_orientation():
    out, label = TrainTransform(32, (1.0, 0.875), flip=False, flip_label_map=None)(_clip(), 5,
                                                                                   np.random.default_rng(0))
    assert label == 5 and bool(out[0, 0, 0, 0] < out[0, 0, 0, -1])


def test_test_transform_centre_and_three_crops():
    frames = _clip(h=60, w=90)  # short side 60 -> resized to 40 x 60
    one = ViewTransform(size=40, crops=1)(frames)
    assert one.shape == (1, 3, 4, 40, 40)
    three = ViewTransform(size=40, crops=3)(frames)
    assert three.shape == (3, 3, 4, 40, 40)
    torch.testing.assert_close(three[1], one[0])
    left_edge = three[:, 0, 0, 20, 0]
    assert left_edge[0] < left_edge[1] < left_edge[2]  # left, centre, right crops of the longer side
    tall = ViewTransform(size=40, crops=3)(_clip(h=90, w=60))
    assert tall.shape == (3, 3, 4, 40, 40)
    with pytest.raises(ValueError, match="1 or 3 crops"):
        ViewTransform(size=40, crops=2)


def test_mirror_class_names():
    assert mirror_class_name("Pushing something from left to right") == "Pushing something from right to left"
    assert mirror_class_name("Turning the camera left while filming something") == \
        "Turning the camera right while filming something"
    assert mirror_class_name("Rotating something clockwise") == "Rotating something counter-clockwise"
    assert mirror_class_name("Moving something up") == "Moving something up"


def test_flip_label_map_checked_against_class_names():
    classes = ["Moving something from left to right", "Moving something from right to left", "Something appearing"]
    assert check_flip_label_map({"0": 1, "1": "0"}, classes, "classes.txt") == {0: 1, 1: 0}
    with pytest.raises(ValueError, match="reverse entry"):
        check_flip_label_map({0: 1}, classes, "classes.txt")
    with pytest.raises(ValueError, match="not left/right mirror images"):
        check_flip_label_map({0: 2, 2: 0}, classes, "classes.txt")
    with pytest.raises(ValueError, match="lacks 0 -> 1"):
        check_flip_label_map({}, classes, "classes.txt")
    with pytest.raises(ValueError, match="outside the 3 classes"):
        check_flip_label_map({0: 7, 7: 0}, classes, "classes.txt")


def test_mmaction2_ssv2_flip_map_fits_the_ssv2_class_names():
    # The SSv2 classes that the MMAction2 map pairs (labels 86/87, 93/94, 166/167 of labels.json)
    classes = [f"class {i}" for i in range(174)]
    classes[86], classes[87] = "Pulling something from left to right", "Pulling something from right to left"
    classes[93], classes[94] = "Pushing something from left to right", "Pushing something from right to left"
    classes[166] = "Turning the camera left while filming something"
    classes[167] = "Turning the camera right while filming something"
    mapping = {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
    assert check_flip_label_map(mapping, classes, "classes.txt") == mapping


# ---- protocol resize: the official test geometry (Andy1621/CT-Net test_acc.py:105-113: GroupScale(256), then
# GroupCenterCrop(224) or GroupFullResSample(224, 256) from TSM's ops/transforms.py).

def _coords(h, w, t=2):
    # channel 0 = row, channel 1 = column // 2, channel 2 = column % 2: any crop's origin can be read back
    frames = torch.zeros(t, 3, h, w, dtype=torch.uint8)
    frames[:, 0] = torch.arange(h, dtype=torch.uint8)[:, None]
    frames[:, 1] = (torch.arange(w) // 2).to(torch.uint8)[None, :]
    frames[:, 2] = (torch.arange(w) % 2).to(torch.uint8)[None, :]
    return frames


def _origins(views):
    # (crops, 3, T, S, S) normalised -> the (row, column) of each crop's top-left pixel
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1)
    raw = torch.round((views[:, :, 0, 0, 0] * std.T + mean.T) * 255).to(torch.int64)  # (crops, 3)
    return [(int(r[0]), int(r[1]) * 2 + int(r[2])) for r in raw]


def test_resize_256_then_224_crops_as_official():
    frames = _coords(256, 340)  # short side already 256: no resizing, as torchvision's Resize(256)
    one = ViewTransform(size=224, crops=1, resize=256)(frames)
    assert one.shape == (1, 3, 2, 224, 224)
    assert _origins(one) == [(16, 58)]  # CenterCrop: round((256 - 224) / 2), round((340 - 224) / 2)
    torch.testing.assert_close(one[0], Normalize()(frames[..., 16:240, 58:282]))
    three = ViewTransform(size=224, crops=3, resize=256)(frames)
    # GroupFullResSample: w_step = (340 - 224) // 4 = 29, h_step = (256 - 224) // 4 = 8; left, centre, right
    assert _origins(three) == [(16, 0), (16, 58), (16, 116)]
    # a 16:9 Kinetics frame extracted at short side 256: 455 wide
    wide = _coords(256, 455)
    assert _origins(ViewTransform(224, 1, resize=256)(wide)) == [(16, 116)]  # round(115.5) = 116 (half to even)
    # w_step = 231 // 4 = 57: the right crop stops 3 pixels short of the edge, the centre one is at 114
    assert _origins(ViewTransform(224, 3, resize=256)(wide)) == [(16, 0), (16, 114), (16, 228)]
    # portrait frames: the official crops still run along the width, at mid-height
    tall = ViewTransform(224, 3, resize=256)(_coords(340, 256))
    assert _origins(tall) == [(58, 0), (58, 16), (58, 32)]


def test_resize_scales_short_side_then_truncates_long_side():
    frames = torch.zeros(1, 3, 300, 533, dtype=torch.uint8)
    assert resize_short_side(frames, 256, truncate=True).shape[-2:] == (256, 454)  # int(533 * 256 / 300)
    assert resize_short_side(frames, 256).shape[-2:] == (256, 455)  # round(): today's rule
    view = ViewTransform(224, 3, resize=256)
    assert view.positions(256, 454) == [(16, 0), (16, 114), (16, 228)]
    assert view(frames).shape == (3, 3, 1, 224, 224)
    assert ViewTransform(224, 1, resize=256).positions(256, 454) == [(16, 115)]
    with pytest.raises(ValueError, match="at least its crop size"):
        ViewTransform(224, 1, resize=200)


def test_default_resize_keeps_todays_crops():
    from ctnet.experiment import PROTOCOL_DEFAULTS
    assert PROTOCOL_DEFAULTS["resize"] is None
    for h, w, size in ((256, 340, 224), (256, 340, 256), (256, 455, 256), (340, 256, 224), (60, 90, 40)):
        frames = _coords(h, w)
        resized = resize_short_side(frames, size)
        rh, rw = resized.shape[-2:]
        # today's rule, written out: short side to size, centre (floor), ends and centre of the longer side
        centre = [((rh - size) // 2, (rw - size) // 2)]
        ends = ([(0, 0), (0, (rw - size) // 2), (0, rw - size)] if rw >= rh
                else [(0, 0), ((rh - size) // 2, 0), (rh - size, 0)])
        for crops, positions in ((1, centre), (3, ends)):
            out = ViewTransform(size, crops, resize=PROTOCOL_DEFAULTS["resize"])(frames)
            expected = torch.stack([Normalize()(resized[..., t:t + size, l:l + size]) for t, l in positions])
            assert torch.equal(out, expected), (h, w, size, crops)


@pytest.mark.parametrize("capability", ["native", "DEFAULT"])
@pytest.mark.parametrize("size", [(32, 32), (37, 50), (96, 128), (48, 64)])
def test_resize_is_torchvisions_resize_pixel_for_pixel(monkeypatch, capability, size):
    """Both of torchvision's CPU paths: uint8 kernels where torch vectorises them, float and rounding elsewhere."""
    TF = pytest.importorskip("torchvision.transforms.v2.functional")
    if capability != "native":
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
        monkeypatch.setattr("platform.machine", lambda: "x86_64")
    frames = torch.randint(0, 256, (3, 3, 48, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    got = resize(frames, *size)
    assert got.dtype == torch.uint8 and got.shape == (3, 3, *size)
    assert torch.equal(got, TF.resize(frames, list(size), antialias=True))
