"""Image grids: one tiling function behind the pages, the PNGs a run writes and the Augment page."""

import numpy as np
import pytest

from genaug_core import viz


def test_tile_images_places_each_image_enlarged_with_padding():
    images = np.arange(3 * 2 * 2 * 1, dtype=np.uint8).reshape(3, 2, 2, 1)
    grid = viz.tile_images(images, ncols=2, factor=3, pad=1, pad_value=255)
    assert grid.shape == (1 + 2 * (6 + 1), 1 + 2 * (6 + 1), 1)  # 2 rows of 6-pixel tiles, 1-pixel gaps all round
    first = grid[1:7, 1:7, 0]
    assert (first == np.kron(images[0, ..., 0], np.ones((3, 3), np.uint8))).all()  # nearest, never blurred
    assert (grid[8:14, 1:7, 0] == np.kron(images[2, ..., 0], np.ones((3, 3), np.uint8))).all()  # second row
    assert (grid[8:14, 8:14] == 255).all()  # the empty cell stays blank
    assert (grid[0] == 255).all() and (grid[:, 7] == 255).all()  # the border and the gap


def test_tile_images_without_an_outer_border():
    grid = viz.tile_images(np.zeros((2, 4, 4, 3), np.uint8), ncols=2, pad=2, outer=False)
    assert grid.shape == (4, 10, 3) and (grid[:, 4:6] == 255).all() and (grid[:, :4] == 0).all()


def test_image_grid_is_rgb_scaled_to_the_cell_and_copes_with_nothing():
    gray = np.full((5, 8, 8), 7, np.uint8)
    grid = viz.image_grid(gray, ncols=4, cell=32, pad=2)
    assert grid.shape == (2 + 2 * 34, 2 + 4 * 34, 3) and grid[2, 2].tolist() == [7, 7, 7]
    rgba = np.zeros((1, 4, 4, 4), np.uint8)
    assert viz.image_grid(rgba, cell=4).shape == (8, 8, 3)  # alpha dropped, one column for one image
    assert viz.image_grid(np.zeros((0, 8, 8, 1), np.uint8)).ndim == 3


@pytest.mark.parametrize("side", [8, 10, 12, 16, 24, 32, 100])
def test_sample_grids_show_each_image_at_64_px_or_more(side):
    """The Sample page's grid and the Train page's samples/ PNG (tiled as the image kinds write it)."""
    from genaug_core.models.image import make_grid

    images = np.random.default_rng(0).integers(0, 250, (16, side, side, 1), dtype=np.uint8)
    grid = viz.image_grid(images, ncols=8, cell=viz.READABLE_CELL, pad=2)
    cell = (grid.shape[1] - 2) // 8 - 2
    assert cell >= 64 and cell % side == 0
    scale = max(1, 32 // side)  # what the image kinds' write_samples enlarges by
    png = make_grid(images).repeat(scale, axis=0).repeat(scale, axis=1)
    shown = viz.readable_grid_png(png, len(images))
    factor = shown.shape[0] // png.shape[0]
    assert shown.shape[:2] == (png.shape[0] * factor, png.shape[1] * factor)
    assert side * scale * factor >= 64
    assert (shown[::factor, ::factor] == png).all()  # nearest neighbour: the same pixels, repeated
