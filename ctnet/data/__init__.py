"""Everything between videos and batches of clips: frame extraction, annotation parsing, the synthetic
dataset, clip sampling, augmentation and the dataset the training and test programs read."""
from .dataset import VideoFrameDataset, build_dataset, seed_worker

__all__ = ["VideoFrameDataset", "build_dataset", "seed_worker"]
