"""A compact anchor-free single-stage detector for aerial frames.

Backbone: a few strided 3x3 conv blocks with depthwise residual blocks down to stride 32; a
light top-down path (nearest upsampling + 1x1 laterals) brings context back to stride 4, where
one head predicts per cell: class heat (sigmoid, one channel per class, peaked at object
centres), the centre offset within the cell and the log box size (in cells). Stride 4 keeps
traffic cones (a few pixels at 100 m) separable.

`ExportWrapper` turns the raw maps into the Ultralytics layout 1 x (4 + nc) x N (cx, cy, w, h
in input pixels, then class scores = sqrt of the centre heat), with 3x3 peak suppression in the
graph so that the plain per-class NMS of `YoloOnnxDetector` suffices.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

STRIDE = 4
WIDTH = (16, 32, 48, 80, 112)  # channels at strides 2, 4, 8, 16, 32


def cbr(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DWBlock(nn.Module):
    """Residual depthwise 3x3 + pointwise 1x1."""

    def __init__(self, c: int, dilation: int = 1) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 3, 1, dilation, dilation=dilation, groups=c, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.pw = nn.Conv2d(c, c, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.dw(x)))
        return F.relu(x + self.bn2(self.pw(y)))


class AerialNet(nn.Module):
    def __init__(self, num_classes: int, width: tuple[int, int, int, int, int] = WIDTH) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = width
        self.num_classes = num_classes
        self.s2 = cbr(3, c1, 2)
        self.s4 = nn.Sequential(cbr(c1, c2, 2), DWBlock(c2))
        self.s8 = nn.Sequential(cbr(c2, c3, 2), DWBlock(c3), DWBlock(c3))
        self.s16 = nn.Sequential(cbr(c3, c4, 2), DWBlock(c4), DWBlock(c4, 2))
        self.s32 = nn.Sequential(cbr(c4, c5, 2), DWBlock(c5), DWBlock(c5, 2))
        f = 32
        self.l32, self.l16, self.l8, self.l4 = (nn.Conv2d(c, f, 1) for c in (c5, c4, c3, c2))
        self.head = nn.Sequential(cbr(f, f), DWBlock(f))
        self.cls = nn.Conv2d(f, num_classes, 1)
        self.box = nn.Conv2d(f, 4, 1)  # offset x, offset y (logits), log w, log h (cells)
        nn.init.constant_(self.cls.bias, -4.6)  # prior 0.01
        nn.init.zeros_(self.box.weight)
        nn.init.zeros_(self.box.bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x4 = self.s4(self.s2(x))
        x8 = self.s8(x4)
        x16 = self.s16(x8)
        x32 = self.s32(x16)
        p = self.l32(x32)
        p = self.l16(x16) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        p = self.l8(x8) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        p = self.l4(x4) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        h = self.head(F.relu(p))
        return self.cls(h), self.box(h)


class ExportWrapper(nn.Module):
    """RGB 0-1 input (1 x 3 x H x W) -> 1 x (4 + nc) x (H/4 * W/4), Ultralytics layout."""

    def __init__(self, net: AerialNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        cls, box = self.net(x)
        heat = torch.sigmoid(cls)
        peak = F.max_pool2d(heat, 3, 1, 1)
        # Scores: the square root of the peak heat. Centre-heat peaks of true objects sit well below
        # a usual detector confidence (the focal loss spreads them over the Gaussian); the root maps
        # them to the range the tracker's thresholds expect (heat 0.25 -> 0.5), keeping the order.
        heat = torch.sqrt(heat * (heat >= peak).to(heat.dtype))
        _, _, h, w = heat.shape
        ys = torch.arange(h, dtype=heat.dtype).view(1, 1, h, 1).expand(1, 1, h, w)
        xs = torch.arange(w, dtype=heat.dtype).view(1, 1, 1, w).expand(1, 1, h, w)
        off = torch.sigmoid(box[:, :2])
        cx = (xs + off[:, 0:1]) * STRIDE
        cy = (ys + off[:, 1:2]) * STRIDE
        wh = torch.exp(box[:, 2:4].clamp(-4.0, 6.0)) * STRIDE
        out = torch.cat([cx, cy, wh, heat], dim=1)
        return out.flatten(2)
