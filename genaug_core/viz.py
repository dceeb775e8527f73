"""Plotly figure builders and image grids: pure functions, data in, figure or array out.

Pages call these and render the result; nothing here knows about Streamlit.
plotly is imported inside each builder, so importing this module is free.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

TEMPLATE = "plotly_white"


def image_grid(images: np.ndarray, ncols: int = 8, cell: int = 64, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile (N, H, W, C) uint8 images into one (rows*cell, ncols*cell, 3) image.

    Each image is scaled by an integer factor with nearest-neighbour
    upsampling (so 8x8 digits stay crisp, never blurred) to fit `cell` pixels.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape if images.size else (0, 1, 1, 3)
    ncols = max(1, min(ncols, n or 1))
    rows = max(1, math.ceil(n / ncols))
    factor = max(1, cell // max(h, w))
    th, tw = h * factor, w * factor
    grid = np.full((rows * (th + pad) + pad, ncols * (tw + pad) + pad, 3), pad_value, dtype=np.uint8)
    for i in range(n):
        tile = images[i]
        tile = np.repeat(tile, 3, axis=-1) if c == 1 else tile[..., :3]
        tile = tile.repeat(factor, axis=0).repeat(factor, axis=1)
        r, col = divmod(i, ncols)
        y, x = pad + r * (th + pad), pad + col * (tw + pad)
        grid[y : y + th, x : x + tw] = tile
    return grid


def histogram(values, title: str, xlabel: str, nbins: int = 40) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure(go.Histogram(x=np.asarray(values), nbinsx=nbins, marker_color="#4c78a8"))
    fig.update_layout(
        title=title, xaxis_title=xlabel, yaxis_title="items", template=TEMPLATE, height=300, bargap=0.05,
        margin=dict(l=40, r=10, t=40, b=40),
    )
    return fig


def bar(counts: dict, title: str, xlabel: str, ylabel: str = "items") -> go.Figure:
    import plotly.graph_objects as go

    keys = [str(k) for k in counts]
    fig = go.Figure(go.Bar(x=keys, y=list(counts.values()), marker_color="#4c78a8"))
    fig.update_layout(
        title=title, xaxis_title=xlabel, yaxis_title=ylabel, template=TEMPLATE, height=300,
        xaxis_type="category", margin=dict(l=40, r=10, t=40, b=40),
    )
    return fig


def loss_curves(series: dict[str, list[dict]], metric: str = "loss", title: str = "Loss") -> go.Figure:
    """Training and validation curves from metrics.jsonl records, one or more runs.

    series: label -> records ({"step", "split": "train"|"val", metric: value}).
    Training curves are thin, validation curves thick with markers: the
    held-out real data is what counts.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    palette = ["#3b6fb6", "#e4572e", "#29a36a", "#8e6fbf", "#f0a202", "#17becf", "#7f7f7f", "#bcbd22"]
    for i, (label, records) in enumerate(series.items()):
        colour = palette[i % len(palette)]
        for split, width, mode, dash in (("train", 1.5, "lines", "dot"), ("val", 3, "lines+markers", "solid")):
            pts = [(r["step"], r[metric]) for r in records if r.get("split") == split and r.get(metric) is not None]
            if not pts:
                continue
            steps, values = zip(*pts, strict=True)
            name = f"{label} · {'validation' if split == 'val' else 'training'}" if len(series) > 1 else (
                "validation (held-out real data)" if split == "val" else "training"
            )
            fig.add_trace(go.Scatter(x=steps, y=values, name=name, mode=mode,
                                     line=dict(color=colour, width=width, dash=dash)))
    fig.update_layout(
        title=title, xaxis_title="step", yaxis_title=metric, template=TEMPLATE, height=340,
        margin=dict(l=40, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.25),
    )
    return fig
