"""The experiment's `data:` section: its defaults and up-front checks, as `ctnet.model_spec` holds the model's.

Torch- and PyAV-free, so that the workflow checks every experiment's data settings when it plans the run;
`build_dataset` fills the same defaults when a job reads the frames.
"""
from ctnet.model_spec import is_int, is_number

DATA_DEFAULTS = {
    "filename_tmpl": "img_{:05d}.jpg",
    "num_frames": 8,
    "sampling": "sparse",
    "dense_stride": 8,
    "dense_window": None,  # null: dense_stride; W: stride W // num_frames, start as the official code (64)
    "train_size": 224,
    "scales": [1.0, 0.875, 0.75, 0.66],
    "flip": False,
    "flip_label_map": None,
}
SAMPLINGS = ("sparse", "dense")


def check_data(data):
    """Raise ValueError, one line naming the key, for a value of `data` (defaults filled in) that no job could
    read frames with."""
    for key in ("num_frames", "dense_stride", "train_size"):
        if not is_int(data[key]) or data[key] < 1:
            raise ValueError(f"data.{key} must be a positive integer, got {data[key]!r}")
    if data["sampling"] not in SAMPLINGS:
        raise ValueError(f"data.sampling must be one of {', '.join(SAMPLINGS)}; got {data['sampling']!r}")
    if data["dense_window"] is not None and not (is_int(data["dense_window"])
                                                 and data["dense_window"] >= data["num_frames"]):
        raise ValueError(f"data.dense_window must be null or an integer >= data.num_frames, "
                         f"got {data['dense_window']!r}")
    scales = data["scales"]
    if not (isinstance(scales, list) and scales and all(is_number(s) and 0 < s <= 1 for s in scales)):
        raise ValueError(f"data.scales must be a list of numbers in (0, 1], got {scales!r}")
    if not isinstance(data["flip"], bool):
        raise ValueError(f"data.flip must be true or false, got {data['flip']!r}")
    if not isinstance(data["filename_tmpl"], str):
        raise ValueError(f"data.filename_tmpl must be a format string such as 'img_{{:05d}}.jpg', "
                         f"got {data['filename_tmpl']!r}")
