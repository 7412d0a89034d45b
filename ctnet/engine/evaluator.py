"""Multi-view evaluation: clips x crops per video, views batched so memory stays bounded, scores averaged."""

from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from ctnet.progress import progress_bar


def autocast_context(device, amp):
    """bf16/fp16 autocast on CUDA; on CPU (or amp null) full precision."""
    if device.type != "cuda" or amp is None:
        return nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


@torch.no_grad()
def predict_views(model, views, views_per_batch, average, device, amp=None):
    """Average the class scores of each video's views.

    views: (B, V, 3, T, S, S) -> returns (B, C) float32 on the CPU. At most `views_per_batch` views go through
    the model at once, whatever B x V is. `average="scores"` averages pre-softmax scores (official code, TSM),
    `"softmax"` averages probabilities (MMAction2).
    """
    batch, num_views = views.shape[:2]
    flat = views.flatten(0, 1)  # (B*V, 3, T, S, S)
    outputs = []
    for chunk in flat.split(views_per_batch):
        chunk = chunk.to(device, non_blocking=True)
        with autocast_context(device, amp):
            logits = model(chunk)
        logits = logits.float()
        outputs.append((F.softmax(logits, dim=1) if average == "softmax" else logits).cpu())
    per_view = torch.cat(outputs).view(batch, num_views, -1)  # (B, V, C)
    return per_view.mean(dim=1)


def evaluate_dataset(model, dataset, protocol, device, amp=None, workers=0,
                     indices=None, show_progress=True):
    """Score the videos of a testing dataset (items `(views, label, index)`).

    Returns (indices, scores) with `scores[i]` the averaged view scores of dataset item `indices[i]`. `indices`
    restricts the evaluation to a subset (one rank's share in distributed validation).
    """
    model.eval()
    subset = dataset if indices is None else Subset(dataset, indices)
    num_views = protocol["clips"] * protocol["crops"]
    videos_per_batch = max(1, protocol["views_per_batch"] // num_views)
    loader = DataLoader(subset, batch_size=videos_per_batch, shuffle=False, num_workers=workers,
                        pin_memory=device.type == "cuda")
    seen, scores = [], []
    for views, _labels, index in progress_bar(loader, desc="test", unit="batch", disable=not show_progress):
        scores.append(predict_views(model, views, protocol["views_per_batch"], protocol["average"], device,
                                    amp=amp))
        seen.append(index)
    if not scores:
        raise ValueError("the evaluation list is empty: nothing to test")
    return torch.cat(seen).numpy(), torch.cat(scores).numpy().astype(np.float32)
