"""Image uploads: one or several image files (and the images of a zip or folder) decoded into an ImageDataset.

`load_images` makes two passes over its sources: headers first (every image
checked against MAX_IMAGE_PIXELS, the stored size picked, the decode budget
MAX_DECODED_PIXELS and MAX_TOTAL_PIXELS applied before any pixel is
decoded), then pixels. An image that cannot be used is skipped with a reason;
when nothing is kept the upload fails, naming the first reason.

Images are stored as uint8 (N, H, W, C), C = 1 when every image is grayscale,
else 3 (grayscale images are replicated). Transparent pixels are composited
onto a WHITE background (RGBA, LA, PA, palette or gray/RGB images with a
transparent colour). 16-bit images are divided by 257; 32-bit integer and
float images are scaled by their own min/max (counted in
`meta["minmax_scaled"]`). EXIF orientation is applied; animated images give
their first frame. Images of other sizes are resized (stretched, Lanczos) to
the most common size, capped at MAX_STORED_SIDE on the longer side.
Only PNG, JPEG, BMP, WEBP, GIF and TIFF are opened (formats.ACCEPTED_IMAGES): their
headers give the size without decoding a pixel. Every image whose header passed
counts its pixels toward MAX_DECODED_PIXELS, whether its decode then succeeds
or fails. `flatten_alpha`, `stored_size` and `resize` are shared with NumPy arrays
(arrays.py).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from genaug_core.data import limits
from genaug_core.data.containers import ImageDataset
from genaug_core.data.uploads.common import class_ids, const, ext, safe
from genaug_core.data.uploads.context import LoadContext, SkipItem, TextOptions
from genaug_core.data.uploads.formats import (
    ACCEPTED_IMAGES,
    IMAGE_MAGIC,
    Format,
    bomb_errors,
    describe,
    looks_like_text,
    magic,
    open_image,
)
from genaug_core.errors import DataError

_GRAY_MODES = {"1", "L", "LA", "La", "I", "F"}  # plus every "I;16..." mode


@dataclass
class Source:
    """One image to load: its name in messages and how to (re)read its bytes."""

    item: str  # "photos.zip:cats/01.png"
    read: Callable[[], bytes]  # may raise SkipItem
    label: str | None = None


@dataclass
class _Probe:
    """What an image's header says, before any pixel is decoded."""

    source: Source
    size: tuple[int, int]  # (width, height) after EXIF orientation
    mode: str
    orientation: int
    animated: bool


def load(name: str, data: bytes, fmt: Format, options: TextOptions) -> ImageDataset:
    """One image file as an ImageDataset of one image; meta["format"] is the type its content has."""
    return load_images(name, [Source(name, const(data))], magic(data) or ext(name).lstrip("."), LoadContext())


def load_files(files: list[tuple[str, bytes]]) -> ImageDataset:
    """Several image files uploaded together, as one ImageDataset."""
    return load_images(f"{len(files)} images", [Source(n, const(d)) for n, d in files], "files", LoadContext())


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block just means "no orientation"
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _probe(source: Source, data: bytes) -> _Probe:
    """Check an image from its header: readable, not too large. Raises SkipItem with the reason."""
    kind = magic(data)
    if not data:
        raise SkipItem("empty file")
    if kind not in IMAGE_MAGIC and (kind or looks_like_text(data)):
        raise SkipItem(f"not an image: {describe(data)}")
    try:
        with bomb_errors():
            img = open_image(data)
            width, height = img.size
            mode = img.mode
            orientation = _orientation(img)
            animated = bool(getattr(img, "is_animated", False))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise SkipItem(f"too many pixels, refused as a decompression bomb ({e})") from None
    except Image.UnidentifiedImageError:
        what = f"corrupt {kind.upper()} image (unreadable header)" if kind else f"not an image in an accepted format ({ACCEPTED_IMAGES})"
        raise SkipItem(what) from None
    except Exception as e:  # noqa: BLE001 - Pillow's parsers raise many types on hostile input
        raise SkipItem(f"corrupt or truncated image ({type(e).__name__}: {safe(str(e), 120)})") from None
    if width < 1 or height < 1:
        raise SkipItem(f"empty image ({width}x{height})")
    if width * height > limits.MAX_IMAGE_PIXELS:
        raise SkipItem(
            f"{width}x{height} = {width * height / 1e6:.1f}M pixels, over the limit of "
            f"{limits.MAX_IMAGE_PIXELS / 1e6:.1f}M per image (MAX_IMAGE_PIXELS)"
        )
    if orientation in (5, 6, 7, 8):  # these EXIF orientations turn the image by 90 degrees
        width, height = height, width
    return _Probe(source, (width, height), mode, orientation, animated)


def flatten_alpha(a: np.ndarray) -> np.ndarray:
    """Composite colour + alpha (last channel) onto WHITE: out = c * a/255 + 255 * (1 - a/255), rounded."""
    color = a[..., :-1].astype(np.uint32)
    alpha = a[..., -1:].astype(np.uint32)
    return ((color * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _minmax(a: np.ndarray) -> np.ndarray:
    """Scale an image to 0..255 by its own finite min and max (NaN -> min, inf -> max); a flat image is clipped."""
    a = a.astype(np.float64)
    finite = np.isfinite(a)
    if not finite.any():
        return np.zeros(a.shape, np.uint8)
    lo, hi = float(a[finite].min()), float(a[finite].max())
    a = np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo)
    if hi > lo:
        return np.rint((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _to_uint8(img: Image.Image, facts: collections.Counter) -> np.ndarray:
    """Pixels of a decoded image as uint8 (H, W, 1) for grayscale or (H, W, 3) for colour."""
    mode = img.mode
    has_key = img.info.get("transparency") is not None
    if mode in ("P", "PA"):
        img = img.convert("RGBA" if mode == "PA" or has_key else "RGB")
    elif mode in ("L", "RGB") and has_key:  # a transparent colour key becomes an alpha channel
        img = img.convert("LA" if mode == "L" else "RGBA")
    elif mode == "1":
        img = img.convert("L")
    elif mode == "La":
        img = img.convert("LA")
    elif mode == "RGBa":
        img = img.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        img = img.convert("RGB")
    mode = img.mode

    if mode.startswith("I;16"):
        facts["scaled_16bit"] += 1
        a = np.asarray(img).astype(np.uint32)
        return ((a + 128) // 257).astype(np.uint8)[..., None]  # 65535 -> 255, rounded
    if mode in ("I", "F") or mode.startswith("I;"):
        facts["minmax_scaled"] += 1
        return _minmax(np.asarray(img))[..., None]
    if mode == "L":
        return np.asarray(img, dtype=np.uint8)[..., None]
    if mode in ("LA", "RGBA"):
        facts["alpha_flattened"] += 1
        return flatten_alpha(np.asarray(img, dtype=np.uint8))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def _decode_image(probe: _Probe, data: bytes, facts: collections.Counter) -> np.ndarray:
    """Decode the first frame, apply EXIF orientation, convert to uint8. Raises SkipItem."""
    try:
        with bomb_errors():
            img = open_image(data)
            img.load()
            if probe.orientation != 1:
                img = ImageOps.exif_transpose(img)
                facts["exif_transposed"] += 1
            arr = _to_uint8(img, facts)
    except Exception as e:  # noqa: BLE001 - Pillow raises OSError, ValueError, SyntaxError, struct.error, ...
        raise SkipItem(f"corrupt or truncated image ({type(e).__name__}: {safe(str(e), 120)})") from None
    if (arr.shape[1], arr.shape[0]) != probe.size:
        raise SkipItem(
            f"decoded size {arr.shape[1]}x{arr.shape[0]} differs from the header's {probe.size[0]}x{probe.size[1]}"
        )
    return arr


def stored_size(sizes: collections.Counter) -> tuple[int, int]:
    """The most common (width, height), scaled down (aspect kept) so the longer side is at most MAX_STORED_SIDE."""
    (width, height), _ = sizes.most_common(1)[0]
    longest = max(width, height)
    if longest <= limits.MAX_STORED_SIDE:
        return width, height
    scale = limits.MAX_STORED_SIDE / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    img = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    out = np.asarray(img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
    return out[..., None] if out.ndim == 2 else out


def _probe_all(name: str, sources: list[Source], ctx: LoadContext) -> list[_Probe]:
    """First pass: the headers of the images that fit MAX_ITEMS and the decode budget MAX_DECODED_PIXELS."""
    probes: list[_Probe] = []
    for i, source in enumerate(sources):
        if len(probes) >= limits.MAX_ITEMS:
            ctx.skip(
                f"{name}: {len(sources) - i:,} more",
                f"only the first {limits.MAX_ITEMS:,} images are loaded (MAX_ITEMS)",
                always=True,
            )
            break
        try:
            probe = _probe(source, source.read())
        except SkipItem as e:
            ctx.skip(source.item, str(e))
            continue
        ctx.decoded_pixels += probe.size[0] * probe.size[1]
        if ctx.decoded_pixels > limits.MAX_DECODED_PIXELS:
            ctx.skip(
                f"{name}: {len(sources) - i:,} more",
                f"only the first {len(probes):,} images are loaded: together they hold "
                f"{limits.MAX_DECODED_PIXELS / 1e6:,.0f}M pixels, the most one upload may decode (MAX_DECODED_PIXELS)",
                always=True,
            )
            break
        probes.append(probe)
    return probes


def load_images(name: str, sources: list[Source], fmt: str, ctx: LoadContext) -> ImageDataset:
    """Two passes over the images: headers first (to pick the stored size and bound memory), then pixels."""
    probes = _probe_all(name, sources, ctx)
    if not probes:
        raise _single_error(name, sources, ctx)

    target = stored_size(collections.Counter(p.size for p in probes))
    fit = limits.MAX_TOTAL_PIXELS // (target[0] * target[1])
    if len(probes) > fit:
        ctx.skip(
            f"{name}: {len(probes) - fit:,} more",
            f"only the first {fit:,} images of {target[0]}x{target[1]} fit the limit of "
            f"{limits.MAX_TOTAL_PIXELS / 1e6:.0f}M stored pixels (MAX_TOTAL_PIXELS)",
            always=True,
        )
        probes = probes[:fit]

    gray = all(p.mode in _GRAY_MODES or p.mode.startswith("I;") for p in probes)
    out = np.empty((len(probes), target[1], target[0], 1 if gray else 3), np.uint8)
    facts = ctx.facts
    kept: list[_Probe] = []
    kept_gray = True  # every kept image decoded to one channel (the colour ones may all have failed)
    for probe in probes:
        try:
            arr = _decode_image(probe, probe.source.read(), facts)
        except SkipItem as e:
            ctx.skip(probe.source.item, str(e))
            continue
        if gray and arr.shape[2] != 1:  # cannot happen for the modes in _GRAY_MODES; keep the array honest anyway
            ctx.skip(probe.source.item, f"mode {probe.mode} decoded to colour unexpectedly")
            continue
        if probe.size != target:
            arr = resize(arr, target)
            facts["resized"] += 1
        out[len(kept)] = arr  # a grayscale image broadcasts to 3 channels in a colour dataset
        kept.append(probe)
        kept_gray = kept_gray and arr.shape[2] == 1
    if not kept:
        raise _single_error(name, sources, ctx)
    images = out[: len(kept)] if len(kept) < len(out) else out
    if kept_gray and images.shape[3] == 3:
        images = images[..., :1].copy()

    labels = class_names = None
    if kept[0].source.label is not None:
        class_names, labels = class_ids(p.source.label for p in kept)
        ctx.meta["labels_from"] = "folders"
    ctx.meta.update(
        format=fmt,
        original_sizes=dict(collections.Counter(f"{w}x{h}" for w, h in (p.size for p in kept))),
        original_modes=dict(collections.Counter(p.mode for p in kept)),
        stored_size=f"{target[0]}x{target[1]}",
        channels=int(images.shape[3]),
        resized=facts["resized"],
        exif_transposed=facts["exif_transposed"],
        alpha_flattened=facts["alpha_flattened"],
        scaled_16bit=facts["scaled_16bit"],
        minmax_scaled=facts["minmax_scaled"],
        animated_first_frame=sum(p.animated for p in kept),
        items=len(kept),
    )
    return ImageDataset(
        name=name,
        source=f"upload:{name}",
        images=images,
        labels=labels,
        class_names=class_names,
        skipped=ctx.finish(),
        meta=ctx.meta,
    )


def _single_error(name: str, sources: list[Source], ctx: LoadContext) -> DataError:
    # One image that fails is the whole upload failing: say why directly.
    if len(sources) == 1 and ctx.skipped and ctx.skipped[0].item == sources[0].item == name:
        return DataError(ctx.skipped[0].reason, name)
    return ctx.nothing_kept(name)
