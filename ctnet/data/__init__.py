"""Everything between videos and batches of clips: frame extraction, annotation parsing, the dataset registry,
the synthetic dataset, the `data:` section's defaults and checks (spec), clip sampling, augmentation and the
dataset the training and test programs read."""

__all__ = ["VideoFrameDataset", "build_dataset", "seed_worker"]


def __getattr__(name):
    # The dataset imports torch; the workflow imports ctnet.data.registry and must not pay for it.
    if name in __all__:
        from . import dataset
        return getattr(dataset, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
