"""The image arrays the metrics accept: uint8 (N, H, W, C) with C in {1, 3}.

Both the metrics (image.py) and the feature network they use (features.py)
check their inputs with `check_images`; it lives here, below both, so that
neither has to import the other for it (features.py is the lower layer and
must not import image.py), and so that checking an array never pulls in torch.
"""

from __future__ import annotations

import numpy as np

from genaug_core.errors import DataError


def check_images(images, name: str, allow_empty: bool = False) -> np.ndarray:
    """`images` as uint8 (N, H, W, C) with C in {1, 3} ((N, H, W) gets C = 1); DataError naming `name` otherwise."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(f"{name} must have shape (N, H, W, 1 or 3), got {images.shape}")
    if images.dtype != np.uint8:
        raise DataError(f"{name} must be uint8 (0..255), got {images.dtype}")
    if len(images) == 0 and not allow_empty:
        raise DataError(f"{name} is empty")
    return images
