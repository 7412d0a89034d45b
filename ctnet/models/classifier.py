"""The TSN-style video classifier: a 2D trunk on all frames, average consensus over time, one linear layer."""
from torch import nn


class VideoClassifier(nn.Module):
    """``(N, 3, T, H, W) -> (N, num_classes)`` logits, with T fixed to ``num_segments`` by the 3D modules."""

    def __init__(self, backbone, num_classes, num_segments, dropout=0.0):
        super().__init__()
        self.num_segments = num_segments
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(backbone.out_channels, num_classes)
        # A freshly added head starts near zero (the official code's std 0.001).
        nn.init.normal_(self.fc.weight, 0, 0.001)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        if x.dim() != 5 or x.shape[2] != self.num_segments:
            raise ValueError(f"model input must be (N, 3, {self.num_segments}, H, W) for num_segments "
                             f"{self.num_segments}, got {tuple(x.shape)}; build the model with this T")
        n, c, t, h, w = x.shape
        features = self.backbone(x.transpose(1, 2).reshape(n * t, c, h, w))  # (N*T, F)
        # Average consensus before the (linear) classifier: the same logits as averaging per-frame scores.
        features = features.view(n, t, -1).mean(dim=1)  # (N, F)
        return self.fc(self.dropout(features))

    def train(self, mode=True):
        """Keep frozen BatchNorm layers (freeze_unreplaced) in eval mode so their ImageNet statistics stay."""
        super().train(mode)
        if mode:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None \
                        and not m.weight.requires_grad:
                    m.eval()
        return self
