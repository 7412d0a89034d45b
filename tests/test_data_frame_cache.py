"""Decoded frames kept by a training dataset: every frame is decoded once per run however many epochs read it,
the frames are the decoder's, and the memory stays within its budget."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import ctnet.data.dataset as dataset_module
from ctnet.data.dataset import VideoFrameDataset, decode_image
from ctnet.data.transforms import TrainTransform

FRAMES = 6
SIDE = 16


@pytest.fixture
def frames_root(tmp_path):
    rng = np.random.default_rng(0)
    for video in ("a", "b"):
        (tmp_path / video).mkdir()
        for number in range(1, FRAMES + 1):
            image = rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
            Image.fromarray(image).save(tmp_path / video / f"img_{number:05d}.jpg")
    (tmp_path / "list.txt").write_text(f"a {FRAMES} 0\nb {FRAMES} 1\n")
    return tmp_path


def make_dataset(root, protocol=None):
    return VideoFrameDataset(root, root / "list.txt", ["c0", "c1"], "img_{:05d}.jpg", 4, "sparse", 1,
                             train_transform=TrainTransform(SIDE, [1.0], False, None), protocol=protocol)


def count_decodes(monkeypatch, dataset):
    decoded = []
    decode = dataset._decode

    def counting(entry, indices):
        decoded.extend((entry.frame_dir, int(i)) for i in indices)
        return decode(entry, indices)
    monkeypatch.setattr(dataset, "_decode", counting)
    return decoded


def test_training_dataset_decodes_each_frame_once(frames_root, monkeypatch):
    dataset = make_dataset(frames_root)
    fresh = make_dataset(frames_root)
    decoded = count_decodes(monkeypatch, dataset)
    entry = dataset.entries[0]
    first = dataset.load_frames(entry, np.array([0, 0, 2, 5]))
    again = dataset.load_frames(entry, np.array([5, 2, 3, 0]))
    assert decoded == [("a", 0), ("a", 2), ("a", 5), ("a", 3)]
    assert torch.equal(first, fresh.load_frames(entry, np.array([0, 0, 2, 5])))
    assert torch.equal(again, fresh.load_frames(entry, np.array([5, 2, 3, 0])))
    first.zero_()  # a caller's changes never reach the kept frames
    assert torch.equal(dataset.load_frames(entry, np.array([0])), fresh.load_frames(entry, np.array([0])))


def test_test_dataset_keeps_nothing(frames_root, monkeypatch):
    dataset = make_dataset(frames_root, protocol={"size": SIDE, "clips": 1, "crops": 1})
    decoded = count_decodes(monkeypatch, dataset)
    for _ in range(2):
        dataset[0]
    assert len(decoded) == 2 * len(set(decoded))


def test_kept_frames_stay_within_the_budget(frames_root, monkeypatch):
    monkeypatch.setattr(dataset_module, "FRAME_CACHE_BYTES", 2 * 3 * SIDE * SIDE)  # room for two frames
    dataset = make_dataset(frames_root)
    decoded = count_decodes(monkeypatch, dataset)
    for _ in range(2):
        dataset.load_frames(dataset.entries[1], np.arange(4))
    assert decoded == [("b", i) for i in range(4)] + [("b", 2), ("b", 3)]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torchvision 0.29 deprecates its image I/O
def test_frames_are_torchvisions_decoding_of_the_files(frames_root):
    io = pytest.importorskip("torchvision.io")
    dataset = make_dataset(frames_root)
    entry = dataset.entries[1]
    files = [io.read_file(str(frames_root / "b" / f"img_{n:05d}.jpg")) for n in (1, 4)]
    assert torch.equal(dataset.load_frames(entry, np.array([0, 3])), torch.stack(io.decode_jpeg(files)))


@pytest.mark.parametrize("mode, suffix", [("RGB", "jpg"), ("L", "jpg"), ("CMYK", "jpg"), ("RGB", "png")])
def test_every_frame_format_gives_pillows_rgb_pixels(tmp_path, mode, suffix):
    """JPEG in YCbCr or grey is decoded by libjpeg-turbo through simplejpeg; CMYK JPEG (whose conversion differs)
    and other formats by Pillow: Pillow's RGB pixels either way."""
    path = tmp_path / f"frame.{suffix}"
    pixels = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path)
    with Image.open(path) as image:
        expected = np.array(image.convert("RGB"))
    decoded = decode_image(path)
    assert decoded.dtype == np.uint8 and np.array_equal(decoded, expected)


def test_a_missing_frame_names_the_file_and_the_fix(frames_root):
    (frames_root / "b" / "img_00003.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"b/img_00003.jpg is missing .* re-extract the frames"):
        make_dataset(frames_root).load_frames(make_dataset(frames_root).entries[1], np.array([2]))


def test_training_and_testing_do_not_import_torchvision():
    """Importing torchvision loads torch._dynamo, seconds of CPU in every training and test job."""
    code = ("import sys, ctnet.engine.api, ctnet.engine.trainer, ctnet.engine.evaluator, ctnet.data, ctnet.models; "
            "sys.exit('torchvision' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_truncated_frame_names_the_file_and_the_fix(frames_root):
    """Pillow's "image file is truncated" named no file among a dataset's millions."""
    path = frames_root / "b" / "img_00003.jpg"
    path.write_bytes(path.read_bytes()[:-100])  # an interrupted write or copy
    dataset = make_dataset(frames_root)
    with pytest.raises(ValueError) as error:
        dataset.load_frames(dataset.entries[1], np.array([0, 2]))
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}: cannot decode the frame (image file is truncated")
    assert f"delete {frames_root / 'b'} and rerun extract_frames" in message


def test_a_frame_of_another_size_names_the_folder_both_sizes_and_the_fix(frames_root):
    """torch.stack's "stack expects each tensor to be equal size" named no folder."""
    Image.fromarray(np.zeros((SIDE, 2 * SIDE, 3), np.uint8)).save(frames_root / "a" / "img_00004.jpg")
    dataset = make_dataset(frames_root)
    with pytest.raises(ValueError) as error:
        dataset.load_frames(dataset.entries[0], np.array([0, 3, 3]))
    assert str(error.value) == (f"{frames_root / 'a'}: frame img_00004.jpg is 32x16 but img_00001.jpg is 16x16; the "
                                "folder mixes frames of two extractions: delete it and rerun extract_frames")
