"""Plotly figure builders and image grids: pure functions, data in, figure or array out.

Pages call these and render the result; nothing here knows about Streamlit.
plotly is imported inside each builder, so importing this module is free.

plotly reads trace names, titles, axis labels and tick labels as a little
HTML (<a href>, <b>, <br>, entities); every label a builder takes from data
(run names, class names, characters) goes through `label()` first, so it
shows as its characters and never as a link or markup.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

TEMPLATE = "plotly_white"


def label(text: object) -> str:
    """A string as plotly shows it literally: <, > and & as entities (plotly decodes those three)."""
    return html.escape(str(text), quote=False)


def tile_images(
    images: np.ndarray, ncols: int, factor: int = 1, pad: int = 2, pad_value: int = 255, outer: bool = True
) -> np.ndarray:
    """Tile (N, H, W, C) uint8 images, `ncols` to a row, into one (height, width, C) picture.

    Each image is enlarged `factor` times by repeating pixels (so 8x8 digits
    stay crisp, never blurred); `pad` pixels of `pad_value` separate them, and
    surround the whole picture too when `outer`: height = rows*(H*f+pad)-pad,
    plus 2*pad with `outer` (width likewise). Empty cells stay `pad_value`.
    Channels are kept.
    """
    n, h, w, c = images.shape
    rows = max(1, math.ceil(n / ncols))
    th, tw = h * factor, w * factor
    edge = pad if outer else 0
    grid = np.full((rows * (th + pad) - pad + 2 * edge, ncols * (tw + pad) - pad + 2 * edge, c), pad_value, np.uint8)
    for i, img in enumerate(images):
        r, col = divmod(i, ncols)
        y, x = edge + r * (th + pad), edge + col * (tw + pad)
        grid[y : y + th, x : x + tw] = img.repeat(factor, axis=0).repeat(factor, axis=1)
    return grid


READABLE_CELL = 64  # pixels: the least an image of a sample grid is shown at on the pages


def square_columns(n: int) -> int:
    """Columns of a square-ish grid of n images (the layout of the sample PNGs in samples/)."""
    return max(1, math.ceil(math.sqrt(n)))


def readable_factor(side: int, at_least: int = READABLE_CELL) -> int:
    """The whole-number enlargement that shows an image of `side` pixels at `at_least` pixels or more."""
    return max(1, math.ceil(at_least / max(1, side)))


def enlarge(picture: np.ndarray, factor: int) -> np.ndarray:
    """A (H, W[, C]) picture `factor` times larger by repeating pixels (nearest neighbour: tiny images stay crisp)."""
    return picture if factor <= 1 else picture.repeat(factor, axis=0).repeat(factor, axis=1)


def readable_grid_png(picture: np.ndarray, n_images: int, pad_value: int = 255) -> np.ndarray:
    """A sample-grid PNG as written to samples/ (`n_images` tiled square-ish, separated and surrounded by
    lines of `pad_value`, the whole picture possibly enlarged), enlarged so each image shows at
    READABLE_CELL pixels or more.

    The line width is read from the picture (its blank top rows), so width = ncols * (cell + line) + line
    gives the cell; an image whose own top rows are blank only makes the cell look smaller (a larger,
    still readable enlargement).
    """
    ncols = square_columns(max(1, n_images))
    width = picture.shape[1]
    blank = np.all(picture.reshape(picture.shape[0], -1) == pad_value, axis=1)  # (H,) rows of padding only
    line = int(np.argmin(blank)) if not blank.all() else 0
    line = min(line, width // (2 * ncols))
    cell = (width - line) // ncols - line
    return enlarge(picture, readable_factor(cell))


def image_grid(images: np.ndarray, ncols: int = 8, cell: int = 64, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile (N, H, W[, C]) uint8 images into one RGB picture for the pages, each enlarged (nearest neighbour)
    to at least `cell` pixels on its long side (never shrunk)."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if not images.size:  # nothing to show: one blank cell
        images = np.full((1, 1, 1, 3), pad_value, np.uint8)
    n, h, w, c = images.shape
    rgb = np.repeat(images, 3, axis=-1) if c == 1 else images[..., :3]
    return tile_images(rgb, max(1, min(ncols, n)), factor=readable_factor(max(h, w), cell), pad=pad, pad_value=pad_value)


def histogram(values, title: str, xlabel: str, nbins: int = 40) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure(go.Histogram(x=np.asarray(values), nbinsx=nbins, marker_color="#4c78a8"))
    fig.update_layout(
        title=label(title), xaxis_title=label(xlabel), yaxis_title="items", template=TEMPLATE, height=300, bargap=0.05,
        margin=dict(l=40, r=10, t=40, b=40),
    )
    return fig


def bar(counts: dict, title: str, xlabel: str, ylabel: str = "items") -> go.Figure:
    import plotly.graph_objects as go

    keys = [label(k) for k in counts]
    fig = go.Figure(go.Bar(x=keys, y=list(counts.values()), marker_color="#4c78a8"))
    fig.update_layout(
        title=label(title), xaxis_title=label(xlabel), yaxis_title=label(ylabel), template=TEMPLATE, height=300,
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
    for i, (name, records) in enumerate(series.items()):
        colour = palette[i % len(palette)]
        for split, width, mode, dash in (("train", 1.5, "lines", "dot"), ("val", 3, "lines+markers", "solid")):
            pts = [(r["step"], r[metric]) for r in records if r.get("split") == split and r.get(metric) is not None]
            if not pts:
                continue
            steps, values = zip(*pts, strict=True)
            name = f"{label(name)} · {'validation' if split == 'val' else 'training'}" if len(series) > 1 else (
                "validation (held-out real data)" if split == "val" else "training"
            )
            fig.add_trace(go.Scatter(x=steps, y=values, name=name, mode=mode,
                                     line=dict(color=colour, width=width, dash=dash)))
    fig.update_layout(
        title=label(title), xaxis_title="step", yaxis_title=label(metric), template=TEMPLATE, height=340,
        margin=dict(l=40, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.25),
    )
    return fig


def metric_bars(values: dict[str, float], title: str, higher_is_better: bool | None = None) -> go.Figure:
    """One bar per run for one metric (run label -> value); the best run's bar is highlighted."""
    import plotly.graph_objects as go

    labels = [label(k) for k in values]
    ys = [float(v) for v in values.values()]
    colours = ["#4c78a8"] * len(ys)
    if ys and higher_is_better is not None:
        best = int(np.argmax(ys) if higher_is_better else np.argmin(ys))
        colours[best] = "#29a36a"
    hint = "" if higher_is_better is None else (" (higher is better)" if higher_is_better else " (lower is better)")
    fig = go.Figure(go.Bar(x=labels, y=ys, marker_color=colours, text=[f"{y:.3g}" for y in ys],
                           textposition="outside", cliponaxis=False))
    fig.update_layout(
        title=label(title) + hint, template=TEMPLATE, height=300, xaxis_type="category",
        margin=dict(l=40, r=10, t=50, b=40),
    )
    return fig


# metric key -> (axis label, which way is better), for the self-training collapse curves
ROUND_METRICS = {
    "val_bpc": ("held-out bits per character", "lower is better"),
    "val_loss": ("held-out loss", "lower is better"),
    "fd": ("Fréchet distance to real data", "lower is better"),
    "kid": ("KID to real data", "lower is better"),
    "distinct_2": ("distinct-2", "higher = more diverse"),
    "distinct_3": ("distinct-3", "higher = more diverse"),
    "distinct_4": ("distinct-4", "higher = more diverse"),
    "unique_share": ("unique share of samples", "higher = more diverse"),
    "recall": ("recall (diversity)", "higher = more diverse"),
    "coverage": ("coverage", "higher = more diverse"),
    "precision": ("precision (fidelity)", "higher is better"),
    "kept": ("samples kept by the filters", ""),
}


def collapse_curves(series: dict[str, list[dict]], metrics: tuple[str, ...] = ("val_bpc", "distinct_4")) -> go.Figure:
    """Self-training: one panel per metric against round, one line per run (e.g. replace vs accumulate).

    series: label -> the run's per-round records ({"round": k, metric: value, ...}).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = [label(f"{ROUND_METRICS.get(m, (m, ''))[0]} ({ROUND_METRICS.get(m, ('', ''))[1]})".replace(" ()", ""))
              for m in metrics]
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=titles, horizontal_spacing=0.1)
    palette = ["#e4572e", "#3b6fb6", "#29a36a", "#8e6fbf", "#f0a202", "#17becf", "#7f7f7f", "#bcbd22"]
    for i, (name, records) in enumerate(series.items()):
        for col, metric in enumerate(metrics, start=1):
            pts = sorted((r["round"], r[metric]) for r in records if isinstance(r.get(metric), (int, float)))
            if not pts:
                continue
            rounds, values = zip(*pts, strict=True)
            fig.add_trace(go.Scatter(x=rounds, y=values, name=label(name), mode="lines+markers", legendgroup=label(name),
                                     showlegend=col == 1, line=dict(color=palette[i % len(palette)], width=3)),
                          row=1, col=col)
    fig.update_xaxes(title_text="round", dtick=1)
    fig.update_layout(template=TEMPLATE, height=360, margin=dict(l=40, r=10, t=50, b=40),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def mean_bars(
    points: dict[str, list[float]], title: str, higher_is_better: bool | None = None, yaxis: str = ""
) -> go.Figure:
    """One bar per group at the mean of its values, an error bar of one standard deviation (sample std,
    shown for groups of two or more) and a dot per value (each seed); the best mean is highlighted.

    points: group label -> its values (e.g. setting -> one value per seed); empty groups are left out.
    Labels are shown as plain text (plotly's HTML-like tags are escaped).
    """
    import html

    import plotly.graph_objects as go

    groups = {str(k): [float(x) for x in v] for k, v in points.items() if len(v)}
    labels = [html.escape(k) for k in groups]
    means = [float(np.mean(v)) for v in groups.values()]
    stds = [float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for v in groups.values()]
    colours = ["#4c78a8"] * len(means)
    if means and higher_is_better is not None:
        colours[int(np.argmax(means) if higher_is_better else np.argmin(means))] = "#29a36a"
    hint = "" if higher_is_better is None else (" (higher is better)" if higher_is_better else " (lower is better)")
    fig = go.Figure(go.Bar(
        x=labels, y=means, marker_color=colours, name="mean",
        error_y=dict(type="data", array=stds, visible=True, color="#333"),
        text=[f"{m:.3g}" for m in means], textposition="outside", cliponaxis=False,
    ))  # fmt: skip
    xs = [lab for lab, v in zip(labels, groups.values(), strict=True) for _ in v]
    ys = [x for v in groups.values() for x in v]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name="each seed",
                             marker=dict(color="#e4572e", size=7, line=dict(color="white", width=1))))
    fig.update_layout(
        title=html.escape(title) + hint, template=TEMPLATE, height=320, xaxis_type="category", yaxis_title=yaxis,
        margin=dict(l=40, r=10, t=50, b=40), showlegend=False,
    )
    return fig
