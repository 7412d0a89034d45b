"""The TSN-style video classifier: a 2D trunk on all frames, average consensus over time, one linear layer."""
from torch import nn


class VideoClassifier(nn.Module):
    """``(N, 3, T, H, W) -> (N, num_classes)`` logits, with T fixed to ``num_segments`` by the 3D modules.

    ``dropout_on``: ``"clip"`` averages the frames' features, then dropout (one mask per clip) and the classifier;
    ``"frames"`` (the official code) applies dropout to each frame's features and the classifier to each frame,
    then averages the frame scores. The classifier is linear, so both give the same logits in eval mode.
    ``frozen_bn``: how BatchNorm layers whose affine parameters are frozen (``freeze_unreplaced``) behave in
    training: ``"frozen"`` keeps them in eval mode, ``"batch"`` (the official ``--npb``) lets them normalise with
    batch statistics and update their running statistics.
    """

    def __init__(self, backbone, num_classes, num_segments, dropout=0.0, dropout_on="clip", frozen_bn="frozen"):
        super().__init__()
        if dropout_on not in ("clip", "frames"):
            raise ValueError(f"dropout_on must be 'clip' or 'frames', got {dropout_on!r}")
        if frozen_bn not in ("frozen", "batch"):
            raise ValueError(f"frozen_bn must be 'frozen' or 'batch', got {frozen_bn!r}")
        self.num_segments = num_segments
        self.dropout_on = dropout_on
        self.frozen_bn = frozen_bn
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(backbone.out_channels, num_classes)
        # A freshly added head starts near zero (the official code's std 0.001).
        nn.init.normal_(self.fc.weight, 0, 0.001)
        nn.init.zeros_(self.fc.bias)

    @property
    def head(self):
        """The classifier layer (the new, ImageNet-less part that `train.head_lr_scale` speeds up)."""
        return self.fc

    def forward(self, x):
        if x.dim() != 5 or x.shape[2] != self.num_segments:
            raise ValueError(f"model input must be (N, 3, {self.num_segments}, H, W) for num_segments "
                             f"{self.num_segments}, got {tuple(x.shape)}; build the model with this T")
        n, c, t, h, w = x.shape
        features = self.backbone(x.transpose(1, 2).reshape(n * t, c, h, w))  # (N*T, F)
        if self.dropout_on == "frames":
            return self.fc(self.dropout(features)).view(n, t, -1).mean(dim=1)  # (N, num_classes)
        # Average consensus before the (linear) classifier: the same logits as averaging per-frame scores.
        features = features.view(n, t, -1).mean(dim=1)  # (N, F)
        return self.fc(self.dropout(features))

    def train(self, mode=True):
        """With frozen_bn "frozen", keep frozen BatchNorm layers (freeze_unreplaced) in eval mode so their
        ImageNet statistics stay; with "batch" they train like the others (only their affine parameters are fixed)."""
        super().train(mode)
        if mode and self.frozen_bn == "frozen":
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None \
                        and not m.weight.requires_grad:
                    m.eval()
        return self
