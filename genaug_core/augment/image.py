"""Image augmenters: albumentations 2.0.8 transforms as registry entries.

Each entry is one builder `build(params, height, width) -> transform`; the
pipeline sets the transform's probability, seeds it through the Compose and
keeps the output the same shape as the input. So every entry here keeps
(H, W, C): crops resize back to the input size, padding is cropped again.

Small inputs: an entry's `min_size` says the smallest side it handles; the
pipeline edge-pads a smaller image (digits are 8x8, a test uses 1x1) and crops
the result back. `needs_rgb=True` marks transforms that only work on 3
channels (colour noise, hue, weather); on grayscale data the pipeline skips
them and the preview says why.

Describing vectors (non-leaking augmentation, EDM's augmentation pipe): the
geometric and colour entries declare `vector` (component names) and
`describe`, which turns the parameters albumentations drew into those
numbers. Units follow Karras et al. 2022: flips and other on/off transforms
are bits; rotation is cos(angle) - 1 and sin(angle); shifts are fractions of
the side; zooms are logs; brightness, contrast, gamma and colour shifts are
offsets from "unchanged". So every component is 0 when the transform did
nothing, and the pipeline writes zeros for a step that did not run. Entries
whose result depends on random draws no vector holds (noise, blur, dropout,
elastic and grid warps, perspective, fog, JPEG) declare none: they leak.

albumentations is imported inside the builders (it costs ~1.5 s).
"""

from __future__ import annotations

import math
from typing import Any

from genaug_core.augment.registry import ParamSpec, augmenter

GEOMETRY, COLOUR, NOISE, DROPOUT, CROP = "geometry", "colour", "noise & blur", "dropout", "crop"

# parameter choices shown to the user -> OpenCV constants (numbers, so cv2 is not imported here)
BORDERS = {"constant": 0, "replicate": 1, "reflect": 4, "wrap": 3}  # cv2.BORDER_*; reflect = REFLECT_101
INTERPOLATIONS = {"nearest": 0, "linear": 1, "cubic": 2}  # cv2.INTER_*


def _border(default: str = "reflect") -> ParamSpec:
    return ParamSpec(
        "border", "choice", default, "how pixels outside the image are filled", choices=tuple(BORDERS)
    )


def _interp(default: str = "linear") -> ParamSpec:
    return ParamSpec(
        "interpolation", "choice", default, "nearest keeps hard pixel edges (good for tiny images)",
        choices=tuple(INTERPOLATIONS),
    )


def _min_side(base: int = 1):
    """min_size for entries with a border: OpenCV's reflect border never returns on a 1-pixel side."""
    return lambda p: max(base, 2 if p.get("border") == "reflect" else 1)


def _pair(value: list[Any]) -> tuple[Any, Any]:
    return (value[0], value[1])


# --- describing vectors: drawn parameters -> numbers (0 = unchanged) -----------------


def _ran(drawn: dict[str, Any], params: dict[str, Any], height: int, width: int) -> list[float]:
    """On/off transforms (flips, invert, equalise): that it ran is all there is to say."""
    return [1.0]


def _describe_affine(drawn: dict[str, Any], params: dict[str, Any], height: int, width: int) -> list[float]:
    """Rotation, shift, zoom and shear of A.Affine.

    albumentations draws the shift in whole pixels and keeps only the matrix
    M = centre @ translate @ shear @ rotate @ scale @ centre^-1 (pixel coordinates), so
    rotation and scale come from the drawn values and the shift and shear are read back from M.
    """
    import numpy as np

    r = math.radians(drawn["rotate"])
    sx, sy = float(drawn["scale"]["x"]), float(drawn["scale"]["y"])
    m = np.asarray(drawn["matrix"], dtype=np.float64)  # (3, 3)
    centre = np.array([width / 2 - 0.5, height / 2 - 0.5])  # albumentations' centre
    # the shift in pixels (whole ones; rounded so that float error does not turn "no shift" into 1e-16)
    dx, dy = np.round(m[:2, 2] - centre + m[:2, :2] @ centre, 6)
    rotate_scale = np.array([[math.cos(r) * sx, math.sin(r) * sy], [-math.sin(r) * sx, math.cos(r) * sy]])
    shear = np.round(m[:2, :2] @ np.linalg.inv(rotate_scale), 9)  # [[1, tan x], [tan y, 1]], float error off
    return [math.cos(r) - 1.0, math.sin(r), dx / width, dy / height, math.log(sx), math.log(sy),
            math.atan(shear[0, 1]), math.atan(shear[1, 0])]


def _describe_crop(drawn: dict[str, Any], params: dict[str, Any], height: int, width: int) -> list[float]:
    """A crop resized back to the full size is a zoom about the crop's centre plus a shift."""
    x0, y0, x1, y1 = drawn["crop_coords"]
    dx = (width / 2 - (x0 + x1) / 2) / width  # how far the content moves, as a fraction of the side
    dy = (height / 2 - (y0 + y1) / 2) / height
    return [dx, dy, math.log(width / (x1 - x0)), math.log(height / (y1 - y0))]


def _describe_pad_crop(drawn: dict[str, Any], params: dict[str, Any], height: int, width: int) -> list[float]:
    """Pad, then crop a window of the input size: a whole-pixel shift of the content."""
    x0, y0 = drawn["crop_coords"][:2]
    return [(drawn["pad_left"] - x0) / width, (drawn["pad_top"] - y0) / height]


# --- geometry ----------------------------------------------------------------


@augmenter("horizontal_flip", kind="image", category=GEOMETRY, library="albumentations.HorizontalFlip",
           help="mirror the image left-right", example={},
           vector=("flip_x",), describe=_ran)
def horizontal_flip(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.HorizontalFlip(p=1.0)


@augmenter("vertical_flip", kind="image", category=GEOMETRY, library="albumentations.VerticalFlip",
           help="mirror the image top-bottom", example={},
           vector=("flip_y",), describe=_ran)
def vertical_flip(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.VerticalFlip(p=1.0)


@augmenter(
    "affine", kind="image", category=GEOMETRY, library="albumentations.Affine",
    help="random scale, shift, rotation and shear (the replacement for ShiftScaleRotate)",
    params=(
        ParamSpec("scale", "float_range", [0.9, 1.1], "zoom factor range (1 = unchanged)", 0.5, 2.0, step=0.05),
        ParamSpec("translate", "float_range", [-0.1, 0.1], "shift as a fraction of the size", -0.5, 0.5, step=0.01),
        ParamSpec("rotate", "float_range", [-15.0, 15.0], "rotation in degrees", -180.0, 180.0, step=1.0),
        ParamSpec("shear", "float_range", [0.0, 0.0], "shear in degrees, drawn for x and y", -30.0, 30.0,
                  step=1.0),
        _interp(), _border("constant"),
    ),
    example={"scale": [0.8, 1.2], "translate": [-0.2, 0.2], "rotate": [-30, 30], "shear": [-10, 10]},
    min_size=_min_side(),
    vector=("rot_cos-1", "rot_sin", "dx", "dy", "log_scale_x", "log_scale_y", "shear_x", "shear_y"),
    describe=_describe_affine,
)
def affine(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.Affine(
        scale=_pair(params["scale"]), translate_percent=_pair(params["translate"]), rotate=_pair(params["rotate"]),
        shear=_pair(params["shear"]), interpolation=INTERPOLATIONS[params["interpolation"]],
        border_mode=BORDERS[params["border"]], p=1.0,
    )


@augmenter(
    "perspective", kind="image", category=GEOMETRY, library="albumentations.Perspective",
    help="random four-point perspective warp, output kept at the input size",
    params=(
        ParamSpec("scale", "float_range", [0.05, 0.1], "how far the corners move (fraction of the size)", 0.0, 0.5,
                  step=0.01),
        _interp(), _border("constant"),
    ),
    example={"scale": [0.05, 0.2]},
    min_size=_min_side(2),
)
def perspective(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.Perspective(scale=_pair(params["scale"]), keep_size=True, interpolation=INTERPOLATIONS[params["interpolation"]],
                         border_mode=BORDERS[params["border"]], p=1.0)


@augmenter(
    "elastic", kind="image", category=GEOMETRY, library="albumentations.ElasticTransform",
    help="smooth random displacement field (rubber-sheet warp), like handwriting variation",
    params=(
        ParamSpec("alpha", "float", 34.0, "displacement strength (34 with sigma 4: ~1.5 pixels)", 0.0, 200.0, step=1.0),
        ParamSpec("sigma", "float", 4.0, "smoothness of the field (larger = smoother)", 1.0, 50.0, step=0.5),
        _interp(), _border("constant"),
    ),
    example={"alpha": 60.0, "sigma": 4.0},
    min_size=_min_side(),
)
def elastic(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.ElasticTransform(alpha=params["alpha"], sigma=params["sigma"],
                              interpolation=INTERPOLATIONS[params["interpolation"]],
                              border_mode=BORDERS[params["border"]], p=1.0)


@augmenter(
    "grid_distortion", kind="image", category=GEOMETRY, library="albumentations.GridDistortion",
    help="stretch and squeeze the cells of a coarse grid",
    params=(
        ParamSpec("num_steps", "int", 5, "grid cells per side", 1, 10),
        ParamSpec("distort_limit", "float_range", [-0.3, 0.3], "how much each cell may stretch", -0.9, 0.9, step=0.05),
        _interp(), _border("reflect"),
    ),
    example={"num_steps": 4, "distort_limit": [-0.4, 0.4]},
    min_size=lambda p: max(p["num_steps"], 2),  # albumentations divides the side by num_steps
)
def grid_distortion(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.GridDistortion(num_steps=params["num_steps"], distort_limit=_pair(params["distort_limit"]),
                            interpolation=INTERPOLATIONS[params["interpolation"]],
                            border_mode=BORDERS[params["border"]], p=1.0)


@augmenter(
    "optical_distortion", kind="image", category=GEOMETRY, library="albumentations.OpticalDistortion",
    help="barrel or pincushion lens distortion",
    params=(
        ParamSpec("distort_limit", "float_range", [-0.1, 0.1], "distortion strength", -1.0, 1.0, step=0.05),
        ParamSpec("mode", "choice", "camera", "lens model", choices=("camera", "fisheye")),
        _interp(), _border("constant"),
    ),
    example={"distort_limit": [-0.3, 0.3]},
    min_size=_min_side(2),
)
def optical_distortion(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.OpticalDistortion(distort_limit=_pair(params["distort_limit"]), mode=params["mode"],
                               interpolation=INTERPOLATIONS[params["interpolation"]],
                               border_mode=BORDERS[params["border"]], p=1.0)


# --- crops (always back to the input size) -------------------------------------


@augmenter(
    "random_resized_crop", kind="image", category=CROP, library="albumentations.RandomResizedCrop",
    help="crop a random part of the image and resize it back to the input size",
    params=(
        ParamSpec("scale", "float_range", [0.7, 1.0], "area of the crop as a fraction of the image", 0.05, 1.0,
                  step=0.05),
        ParamSpec("ratio", "float_range", [0.75, 1.3333], "aspect ratio range of the crop", 0.25, 4.0, step=0.05),
        _interp(),
    ),
    example={"scale": [0.5, 1.0]},
    min_size=8,  # a tiny crop of a tiny image rounds to 0 pixels
    vector=("dx", "dy", "log_zoom_x", "log_zoom_y"), describe=_describe_crop,
)
def random_resized_crop(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.RandomResizedCrop(size=(height, width), scale=_pair(params["scale"]), ratio=_pair(params["ratio"]),
                               interpolation=INTERPOLATIONS[params["interpolation"]], p=1.0)


@augmenter(
    "pad_and_crop", kind="image", category=CROP, library="albumentations.PadIfNeeded + RandomCrop",
    help="pad every side, then crop a random window of the input size (a random shift, as for CIFAR)",
    params=(
        ParamSpec("pad", "int", 2, "pixels added on each side before cropping", 0, 64),
        _border("constant"),
    ),
    example={"pad": 3, "border": "reflect"},
    min_size=_min_side(),
    vector=("dx", "dy"), describe=_describe_pad_crop,
)
def pad_and_crop(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    pad = params["pad"]
    return A.Sequential(
        [
            A.PadIfNeeded(min_height=height + 2 * pad, min_width=width + 2 * pad, border_mode=BORDERS[params["border"]],
                          p=1.0),
            A.RandomCrop(height=height, width=width, pad_if_needed=True, p=1.0),
        ],
        p=1.0,
    )


# --- colour --------------------------------------------------------------------


@augmenter(
    "brightness_contrast", kind="image", category=COLOUR, library="albumentations.RandomBrightnessContrast",
    help="random brightness and contrast change",
    params=(
        ParamSpec("brightness", "float_range", [-0.2, 0.2], "brightness change (fraction of the maximum)", -1.0, 1.0,
                  step=0.05),
        ParamSpec("contrast", "float_range", [-0.2, 0.2], "contrast change (fraction)", -1.0, 1.0, step=0.05),
    ),
    example={"brightness": [-0.4, 0.4], "contrast": [-0.4, 0.4]},
    vector=("brightness", "contrast"),
    describe=lambda drawn, params, h, w: [drawn["beta"] / 255.0, drawn["alpha"] - 1.0],
)
def brightness_contrast(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.RandomBrightnessContrast(brightness_limit=_pair(params["brightness"]),
                                      contrast_limit=_pair(params["contrast"]), p=1.0)


@augmenter(
    "hue_saturation_value", kind="image", category=COLOUR, library="albumentations.HueSaturationValue",
    help="random shift of hue, saturation and value (HSV colour space)",
    params=(
        ParamSpec("hue", "float_range", [-20.0, 20.0], "hue shift in degrees", -180.0, 180.0, step=1.0),
        ParamSpec("saturation", "float_range", [-30.0, 30.0], "saturation shift", -255.0, 255.0, step=1.0),
        ParamSpec("value", "float_range", [-20.0, 20.0], "value (brightness) shift", -255.0, 255.0, step=1.0),
    ),
    example={"hue": [-40, 40], "saturation": [-50, 50], "value": [-30, 30]},
    needs_rgb=True,
    vector=("hue", "saturation", "value"),
    describe=lambda drawn, params, h, w: [drawn["hue_shift"] / 180.0, drawn["sat_shift"] / 255.0,
                                          drawn["val_shift"] / 255.0],
)
def hue_saturation_value(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.HueSaturationValue(hue_shift_limit=_pair(params["hue"]), sat_shift_limit=_pair(params["saturation"]),
                                val_shift_limit=_pair(params["value"]), p=1.0)


@augmenter(
    "color_jitter", kind="image", category=COLOUR, library="albumentations.ColorJitter",
    help="torchvision-style jitter of brightness, contrast, saturation and hue (only the first two on grayscale)",
    params=(
        ParamSpec("brightness", "float_range", [0.8, 1.2], "brightness factor range", 0.0, 2.0, step=0.05),
        ParamSpec("contrast", "float_range", [0.8, 1.2], "contrast factor range", 0.0, 2.0, step=0.05),
        ParamSpec("saturation", "float_range", [0.8, 1.2], "saturation factor range", 0.0, 2.0, step=0.05),
        ParamSpec("hue", "float_range", [-0.05, 0.05], "hue shift (fraction of the circle)", -0.5, 0.5, step=0.01),
    ),
    example={"brightness": [0.6, 1.4], "hue": [-0.2, 0.2]},
    # the random order of the four operations is not in the vector (it changes the result very little)
    vector=("brightness", "contrast", "saturation", "hue"),
    describe=lambda drawn, params, h, w: [drawn["brightness"] - 1.0, drawn["contrast"] - 1.0,
                                          drawn["saturation"] - 1.0, drawn["hue"]],
)
def color_jitter(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.ColorJitter(brightness=_pair(params["brightness"]), contrast=_pair(params["contrast"]),
                         saturation=_pair(params["saturation"]), hue=_pair(params["hue"]), p=1.0)


@augmenter(
    "gamma", kind="image", category=COLOUR, library="albumentations.RandomGamma",
    help="random gamma curve (brightens or darkens mid-tones)",
    params=(ParamSpec("gamma", "float_range", [80.0, 120.0], "gamma x 100 (100 = unchanged)", 20.0, 300.0, step=5.0),),
    example={"gamma": [50, 200]},
    vector=("log_gamma",), describe=lambda drawn, params, h, w: [math.log(drawn["gamma"])],
)
def gamma(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.RandomGamma(gamma_limit=_pair(params["gamma"]), p=1.0)


@augmenter(
    "clahe", kind="image", category=COLOUR, library="albumentations.CLAHE",
    help="contrast-limited adaptive histogram equalisation",
    params=(
        ParamSpec("clip_limit", "float_range", [1.0, 4.0], "contrast clip limit", 1.0, 40.0, step=0.5),
        ParamSpec("tile_grid_size", "int", 8, "tiles per side", 1, 16),
    ),
    example={"clip_limit": [2.0, 8.0], "tile_grid_size": 4},
    vector=("ran", "log_clip_limit"), describe=lambda drawn, params, h, w: [1.0, math.log(drawn["clip_limit"])],
)
def clahe(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    t = params["tile_grid_size"]
    return A.CLAHE(clip_limit=_pair(params["clip_limit"]), tile_grid_size=(t, t), p=1.0)


@augmenter(
    "to_gray", kind="image", category=COLOUR, library="albumentations.ToGray",
    help="convert to grayscale, keeping 3 channels",
    params=(ParamSpec("method", "choice", "weighted_average", "how colours are combined",
                      choices=("weighted_average", "from_lab", "desaturation", "average", "max")),),
    example={"method": "average"},
    needs_rgb=True,
    min_size=2,  # a 1x1 RGB image comes back flattened
    vector=("gray",), describe=_ran,
)
def to_gray(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.ToGray(num_output_channels=3, method=params["method"], p=1.0)


@augmenter(
    "posterize", kind="image", category=COLOUR, library="albumentations.Posterize",
    help="keep only the top bits of each pixel value",
    params=(ParamSpec("num_bits", "int_range", [4, 8], "bits kept per channel", 1, 8),),
    example={"num_bits": [2, 6]},
    vector=("bits_dropped",), describe=lambda drawn, params, h, w: [(8 - drawn["num_bits"]) / 8.0],
)
def posterize(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.Posterize(num_bits=_pair(params["num_bits"]), p=1.0)


@augmenter(
    "equalize", kind="image", category=COLOUR, library="albumentations.Equalize",
    help="histogram equalisation",
    params=(
        ParamSpec("mode", "choice", "cv", "OpenCV or Pillow algorithm", choices=("cv", "pil")),
        ParamSpec("by_channels", "bool", True, "equalise each channel on its own (else the brightness only)"),
    ),
    example={"mode": "pil"},
    vector=("equalized",), describe=_ran,
)
def equalize(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.Equalize(mode=params["mode"], by_channels=params["by_channels"], p=1.0)


@augmenter(
    "solarize", kind="image", category=COLOUR, library="albumentations.Solarize",
    help="invert the pixels brighter than a threshold",
    params=(ParamSpec("threshold", "float_range", [0.5, 0.5], "threshold as a fraction of 255", 0.0, 1.0, step=0.05),),
    example={"threshold": [0.3, 0.7]},
    vector=("1-threshold",), describe=lambda drawn, params, h, w: [1.0 - drawn["threshold"]],
)
def solarize(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.Solarize(threshold_range=_pair(params["threshold"]), p=1.0)


@augmenter("invert", kind="image", category=COLOUR, library="albumentations.InvertImg",
           help="negative image (255 - x)", example={},
           vector=("inverted",), describe=_ran)
def invert(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.InvertImg(p=1.0)


@augmenter(
    "rgb_shift", kind="image", category=COLOUR, library="albumentations.RGBShift",
    help="shift each of the red, green and blue channels",
    params=(
        ParamSpec("r_shift", "float_range", [-20.0, 20.0], "red shift", -255.0, 255.0, step=1.0),
        ParamSpec("g_shift", "float_range", [-20.0, 20.0], "green shift", -255.0, 255.0, step=1.0),
        ParamSpec("b_shift", "float_range", [-20.0, 20.0], "blue shift", -255.0, 255.0, step=1.0),
    ),
    example={"r_shift": [-40, 40]},
    needs_rgb=True,
    vector=("red", "green", "blue"), describe=lambda drawn, params, h, w: [v / 255.0 for v in drawn["noise_map"]],
)
def rgb_shift(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.RGBShift(r_shift_limit=_pair(params["r_shift"]), g_shift_limit=_pair(params["g_shift"]),
                      b_shift_limit=_pair(params["b_shift"]), p=1.0)


@augmenter("channel_shuffle", kind="image", category=COLOUR, library="albumentations.ChannelShuffle",
           help="randomly reorder the colour channels", example={}, needs_rgb=True,
           vector=("red_from", "green_from", "blue_from"),  # (source channel - own channel) / 2: 0 = in place
           describe=lambda drawn, params, h, w: [(c - i) / 2.0 for i, c in enumerate(drawn["channels_shuffled"])])
def channel_shuffle(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.ChannelShuffle(p=1.0)


# --- noise and blur --------------------------------------------------------------


@augmenter(
    "gauss_noise", kind="image", category=NOISE, library="albumentations.GaussNoise",
    help="add Gaussian noise (std as a fraction of 255)",
    params=(
        ParamSpec("std", "float_range", [0.05, 0.15], "noise standard deviation range", 0.0, 1.0, step=0.01),
        ParamSpec("per_channel", "bool", True, "independent noise per channel"),
    ),
    example={"std": [0.1, 0.3]},
)
def gauss_noise(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.GaussNoise(std_range=_pair(params["std"]), per_channel=params["per_channel"], p=1.0)


@augmenter(
    "iso_noise", kind="image", category=NOISE, library="albumentations.ISONoise",
    help="camera sensor noise (colour shift and intensity)",
    params=(
        ParamSpec("color_shift", "float_range", [0.01, 0.05], "hue shift of the noise", 0.0, 1.0, step=0.01),
        ParamSpec("intensity", "float_range", [0.1, 0.5], "noise intensity", 0.0, 2.0, step=0.05),
    ),
    example={"intensity": [0.3, 0.8]},
    needs_rgb=True,
)
def iso_noise(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.ISONoise(color_shift=_pair(params["color_shift"]), intensity=_pair(params["intensity"]), p=1.0)


@augmenter(
    "salt_and_pepper", kind="image", category=NOISE, library="albumentations.SaltAndPepper",
    help="set random pixels to white or black",
    params=(ParamSpec("amount", "float_range", [0.01, 0.06], "fraction of pixels hit", 0.0, 1.0, step=0.01),),
    example={"amount": [0.05, 0.1]},
)
def salt_and_pepper(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.SaltAndPepper(amount=_pair(params["amount"]), p=1.0)


@augmenter(
    "motion_blur", kind="image", category=NOISE, library="albumentations.MotionBlur",
    help="blur along a random line, as from camera shake",
    params=(ParamSpec("blur_limit", "int_range", [3, 5], "kernel size range (odd)", 3, 31, step=2),),
    example={"blur_limit": [3, 7]},
)
def motion_blur(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.MotionBlur(blur_limit=_pair(params["blur_limit"]), p=1.0)


@augmenter(
    "median_blur", kind="image", category=NOISE, library="albumentations.MedianBlur",
    help="median filter (removes speckles, rounds corners)",
    params=(ParamSpec("blur_limit", "int_range", [3, 5], "kernel size range (odd)", 3, 15, step=2),),
    example={"blur_limit": [3, 3]},
)
def median_blur(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.MedianBlur(blur_limit=_pair(params["blur_limit"]), p=1.0)


@augmenter(
    "gaussian_blur", kind="image", category=NOISE, library="albumentations.GaussianBlur",
    help="Gaussian blur with a random sigma (kernel sized from sigma)",
    params=(ParamSpec("sigma", "float_range", [0.5, 1.5], "blur sigma in pixels", 0.1, 10.0, step=0.1),),
    example={"sigma": [1.0, 2.0]},
)
def gaussian_blur(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.GaussianBlur(blur_limit=0, sigma_limit=_pair(params["sigma"]), p=1.0)


@augmenter(
    "sharpen", kind="image", category=NOISE, library="albumentations.Sharpen",
    help="unsharp-mask sharpening",
    params=(
        ParamSpec("alpha", "float_range", [0.2, 0.5], "blend of the sharpened image", 0.0, 1.0, step=0.05),
        ParamSpec("lightness", "float_range", [0.5, 1.0], "brightness of the sharpened image", 0.0, 2.0, step=0.05),
    ),
    example={"alpha": [0.5, 0.8]},
)
def sharpen(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.Sharpen(alpha=_pair(params["alpha"]), lightness=_pair(params["lightness"]), p=1.0)


@augmenter(
    "downscale", kind="image", category=NOISE, library="albumentations.Downscale",
    help="downscale then upscale back: loses detail like a low-resolution camera",
    params=(ParamSpec("scale", "float_range", [0.5, 0.75], "downscale factor range", 0.1, 0.99, step=0.01),),
    example={"scale": [0.3, 0.6]},
    min_size=lambda p: max(4, math.ceil(1 / p["scale"][0]) + 1),  # the small image needs at least 1 pixel
)
def downscale(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.Downscale(scale_range=_pair(params["scale"]), p=1.0)


@augmenter(
    "jpeg", kind="image", category=NOISE, library="albumentations.ImageCompression",
    help="JPEG compression artefacts",
    params=(ParamSpec("quality", "int_range", [50, 90], "JPEG quality range", 1, 100),),
    example={"quality": [10, 40]},
)
def jpeg(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.ImageCompression(compression_type="jpeg", quality_range=_pair(params["quality"]), p=1.0)


@augmenter(
    "fog", kind="image", category=NOISE, library="albumentations.RandomFog",
    help="simulated fog",
    params=(ParamSpec("fog_coef", "float_range", [0.3, 0.6], "fog density", 0.0, 1.0, step=0.05),),
    example={"fog_coef": [0.5, 0.8]},
    needs_rgb=True,
    min_size=4,
)
def fog(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.RandomFog(fog_coef_range=_pair(params["fog_coef"]), p=1.0)


# --- dropout -----------------------------------------------------------------------


@augmenter(
    "coarse_dropout", kind="image", category=DROPOUT, library="albumentations.CoarseDropout",
    help="cut out random rectangles (Cutout)",
    params=(
        ParamSpec("num_holes", "int_range", [1, 2], "number of rectangles", 1, 32),
        ParamSpec("hole_size", "float_range", [0.1, 0.3], "rectangle side as a fraction of the image", 0.01, 1.0,
                  step=0.01),
        ParamSpec("fill", "int", 0, "pixel value inside the rectangles", 0, 255),
    ),
    example={"num_holes": [1, 3], "hole_size": [0.2, 0.4], "fill": 128},
)
def coarse_dropout(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    size = _pair(params["hole_size"])
    return A.CoarseDropout(num_holes_range=_pair(params["num_holes"]), hole_height_range=size, hole_width_range=size,
                           fill=params["fill"], p=1.0)


@augmenter(
    "grid_dropout", kind="image", category=DROPOUT, library="albumentations.GridDropout",
    help="drop squares on a regular grid (GridMask)",
    params=(
        ParamSpec("ratio", "float", 0.4, "share of each grid cell that is dropped", 0.05, 0.95, step=0.05),
        ParamSpec("holes", "int", 4, "grid cells per side", 1, 32),
        ParamSpec("random_offset", "bool", True, "shift the grid randomly"),
        ParamSpec("fill", "int", 0, "pixel value of the dropped squares", 0, 255),
    ),
    example={"ratio": 0.5, "holes": 3},
    min_size=2,
)
def grid_dropout(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    holes = max(1, min(params["holes"], height // 2, width // 2))  # a grid unit must be at least 2 pixels
    return A.GridDropout(ratio=params["ratio"], holes_number_xy=(holes, holes), random_offset=params["random_offset"],
                         fill=params["fill"], p=1.0)


@augmenter(
    "pixel_dropout", kind="image", category=DROPOUT, library="albumentations.PixelDropout",
    help="set random single pixels to a value",
    params=(
        ParamSpec("dropout_prob", "float", 0.05, "probability each pixel is dropped", 0.0, 1.0, step=0.01),
        ParamSpec("per_channel", "bool", False, "drop channels independently"),
        ParamSpec("fill", "int", 0, "value of dropped pixels", 0, 255),
    ),
    example={"dropout_prob": 0.2},
)
def pixel_dropout(params: dict[str, Any], height: int, width: int):
    import albumentations as A

    return A.PixelDropout(dropout_prob=params["dropout_prob"], per_channel=params["per_channel"],
                          drop_value=params["fill"], p=1.0)
