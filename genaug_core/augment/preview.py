"""What the Augment page shows, computed without Streamlit: grids, variant tables, ball-noise previews.

- `image_variants` / `text_variants`: N augmented variants of chosen items and
  the parameters each step actually drew for each variant.
- `diff_segments`: what a text variant changed, as (text, kind) segments
  (same, changed, deleted) for the page to highlight; word level, refined to
  characters inside an edited word (a typo shows its one changed letter).
- `tile`: one uint8 picture of a grid of images, nearest-neighbour upscaled so
  an 8x8 digit is visible (st.image smooths small images otherwise).
- `noise_preview`: images moved by noise drawn uniformly from the L1, L2 or
  L-infinity ball of radius eps (pixels scaled to [0, 1]), plus the norm of
  every perturbation for the histogram.

Each computes the size of what it is about to allocate first and refuses
with a ConfigError above the budget per operation (genaug_core.budgets), so
a preview of very large images cannot take the server's memory.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

import numpy as np

from genaug_core.augment.noise import NORMS
from genaug_core.augment.pipeline import Pipeline
from genaug_core.budgets import check_op_bytes
from genaug_core.errors import ConfigError
from genaug_core.viz import tile_images

TILE_TARGET = 64  # pixels per tile side the upscaling aims for


def upscale_factor(h: int, w: int, target: int = TILE_TARGET) -> int:
    return max(1, int(round(target / max(h, w, 1))))


def _item_bytes(images: np.ndarray) -> int:
    """Bytes of one uint8 (H, W, C) image of a (N, H, W, C) batch."""
    return int(np.prod(images.shape[1:], dtype=np.int64))


def _text_bytes(texts: list[str]) -> int:
    """At most the bytes of these strings (4 per character unless ASCII, 49 per str object)."""
    return sum(49 + len(t) * (1 if t.isascii() else 4) for t in texts)


def tile(grid: np.ndarray, factor: int | None = None, gap: int = 2, gap_value: int = 255) -> np.ndarray:
    """(R, C, H, W, ch) uint8 -> one (R*(H*f+gap)-gap, C*(W*f+gap)-gap[, 3]) uint8 picture.

    Grayscale comes back 2-D, which st.image shows as such.
    """
    grid = np.asarray(grid)
    if grid.ndim != 5 or grid.dtype != np.uint8:
        raise ValueError(f"tile needs a uint8 grid (rows, cols, H, W, C); got {grid.shape} {grid.dtype}")
    rows, cols, h, w, ch = grid.shape
    f = factor or upscale_factor(h, w)
    out_bytes = 2 * rows * (h * f + gap) * cols * (w * f + gap) * max(ch, 3)  # the picture (+ one working copy)
    check_op_bytes("preview", out_bytes, f"a {rows} x {cols} grid of {h}x{w} images, {f}x enlarged")
    out = tile_images(grid.reshape(rows * cols, h, w, ch), cols, f, pad=gap, pad_value=gap_value, outer=False)
    return out[..., 0] if ch == 1 else out


def dataset_grid(pipeline: Pipeline, images: np.ndarray, seed: int, cols: int = 8) -> np.ndarray:
    """Every image augmented once, tiled `cols` to a row (blank tiles fill the last row)."""
    # the augmented copy, one float32 working image set (an augmenter's), the padded copy
    check_op_bytes("preview", (2 + 4) * (len(images) + cols) * _item_bytes(images),
                   f"{len(images)} images of {'x'.join(map(str, images.shape[1:]))}")
    out = pipeline.apply(images, seed=seed)
    blank = np.full(((-len(out)) % cols, *out.shape[1:]), 255, np.uint8)
    tiles = np.concatenate([out, blank])
    return tile(tiles.reshape(-1, cols, *out.shape[1:]))


def _drawn_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _drawn_rows(drawn: list[list[dict]], item_ids: list[int], n_variants: int) -> list[dict[str, Any]]:
    rows = []
    for b, steps in enumerate(drawn):
        for s in steps:
            rows.append({
                "item": item_ids[b // n_variants], "variant": b % n_variants + 1,
                "step": f"{s['step'] + 1}. {s['augmenter']}",
                "ran": "yes" if s["applied"] else ("skipped" if s.get("skipped") else "no"),
                "drawn": s.get("skipped") or _drawn_text(s["params"]),
            })  # fmt: skip
    return rows


def image_variants(pipeline: Pipeline, images: np.ndarray, item_ids: list[int], n_variants: int,
                   seed: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(grid (R, 1 + V, H, W, C): original then V variants per row, drawn-parameter rows)."""
    if n_variants < 1:
        raise ConfigError(f"n_variants = {n_variants} must be at least 1")
    # the repeated batch, its augmented copy, a float32 working copy of it and the grid
    rows = len(images) * n_variants
    check_op_bytes("preview", ((2 + 4) * rows + len(images) * (n_variants + 1)) * _item_bytes(images),
                   f"{len(images)} images x {n_variants} variants of {'x'.join(map(str, images.shape[1:]))}")
    batch = np.repeat(images, n_variants, axis=0)  # (R*V, H, W, C): item 0 V times, item 1 V times, ...
    out, drawn = pipeline.apply_with_params(batch, seed=seed)
    grid = np.concatenate([images[:, None], out.reshape(len(images), n_variants, *images.shape[1:])], axis=1)
    return grid, _drawn_rows(drawn, item_ids, n_variants)


def text_variants(pipeline: Pipeline, texts: list[str], item_ids: list[int], n_variants: int,
                  seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(one row per item: original and V variants, drawn-parameter rows)."""
    if n_variants < 1:
        raise ConfigError(f"n_variants = {n_variants} must be at least 1")
    # the augmented variants (counted at twice the length: augmenters may insert words) and the table
    check_op_bytes("preview", 3 * n_variants * _text_bytes(texts), f"{len(texts)} texts x {n_variants} variants")
    batch = [t for t in texts for _ in range(n_variants)]
    out, drawn = pipeline.apply_with_params(batch, seed=seed)
    table = []
    for r, (i, text) in enumerate(zip(item_ids, texts, strict=True)):
        row: dict[str, Any] = {"item": i, "original": text}
        for v in range(n_variants):
            row[f"variant {v + 1}"] = out[r * n_variants + v]
        table.append(row)
    return table, _drawn_rows(drawn, item_ids, n_variants)


# --- what a text variant changed ----------------------------------------------------------------

SAME, CHANGED, DELETED = "same", "changed", "deleted"
SegmentKind = Literal["same", "changed", "deleted"]
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]")  # words, runs of white space, single punctuation marks
_REFINE_RATIO = 0.5  # an edited word at least this similar to the original is diffed letter by letter


def diff_segments(before: str, after: str) -> list[tuple[str, SegmentKind]]:
    """`after` as segments against `before`: (text, "same" | "changed" | "deleted").

    "changed" text is in `after` only (inserted or replacing), "deleted" text in `before` only;
    joining the same + changed segments gives `after`, the same + deleted ones `before`.
    """
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    out: list[tuple[str, SegmentKind]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            out.append((new, SAME))
        elif op == "replace" and difflib.SequenceMatcher(a=old, b=new, autojunk=False).ratio() >= _REFINE_RATIO:
            out.extend(_char_segments(old, new))  # a typo: show the letters that changed
        else:
            out.extend([(old, DELETED), (new, CHANGED)])
    merged: list[tuple[str, SegmentKind]] = []
    for text, kind in out:
        if not text:
            continue
        if merged and merged[-1][1] == kind:
            merged[-1] = (merged[-1][0] + text, kind)
        else:
            merged.append((text, kind))
    return merged


def _char_segments(old: str, new: str) -> list[tuple[str, SegmentKind]]:
    out: list[tuple[str, SegmentKind]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            out.append((new[j1:j2], SAME))
        else:
            out.extend([(old[i1:i2], DELETED), (new[j1:j2], CHANGED)])
    return out


# --- L1/L2/Linf-ball noise on pixels ------------------------------------------------------


def eps_limit(norm: str, dim: int) -> float:
    """A useful slider maximum: the radius whose ball just reaches 0.5 per pixel on average."""
    if norm not in NORMS:
        raise ConfigError(f"norm = {norm!r} is not allowed; choose one of: {', '.join(NORMS)}")
    return {"linf": 0.5, "l2": 0.5 * float(np.sqrt(dim)), "l1": 0.5 * dim}[norm]


def noise_preview(images: np.ndarray, eps: float, norm: str = "l2", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(noised uint8 images, (N,) norms of the perturbations drawn), pixels scaled to [0, 1].

    The images are clipped back to [0, 1] after the noise is added; the norms are
    those of the noise itself (all <= eps), which is what the histogram shows.
    """
    import torch

    from genaug_core.augment.noise import item_norms, sample_ball

    if norm not in NORMS:
        raise ConfigError(f"norm = {norm!r} is not allowed; choose one of: {', '.join(NORMS)}")
    if not eps >= 0:
        raise ConfigError(f"eps = {eps!r} must be 0 or more")
    # float32 pixels, the noise and its draws (up to three float32 copies), the sum, clamp, scale and round
    # steps (float32 each), the uint8 result
    check_op_bytes("preview", len(images) * _item_bytes(images) * (4 * 8 + 1),
                   f"ball noise on {len(images)} images of {'x'.join(map(str, images.shape[1:]))}")
    x = torch.from_numpy(images.astype(np.float32) / 255.0)  # (N, H, W, C) in [0, 1]
    gen = torch.Generator().manual_seed(int(seed))
    noise = sample_ball(tuple(x.shape), float(eps), norm, generator=gen)  # type: ignore[arg-type]
    noised = (x + noise).clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).numpy()
    return noised, item_norms(noise, norm).numpy()  # type: ignore[arg-type]
