"""Resizing a batch of images as tensors: the one implementation the model kinds, training batches and
the image metrics share (PIL does the resizing of single uploaded or preprocessed images).

    resize_batch(x, height, width)   float (N, C, H, W) -> (N, C, height, width)

Shrinking averages boxes of pixels ("area"), which matches the BOX filter genaug_core.data.preprocess
shrinks with, so an image enlarged 2x by pixel repetition comes back exactly; enlarging is bilinear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def resize_batch(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    import torch.nn.functional as F

    if tuple(x.shape[-2:]) == (height, width):
        return x
    if height <= x.shape[-2] and width <= x.shape[-1]:
        return F.interpolate(x, size=(height, width), mode="area")
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
