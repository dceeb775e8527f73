"""Non-leaking augmentation for the UNet: the describing vector of each training image, added to its embedding.

Karras et al. 2022 (EDM, "augmentation pipe"): a diffusion model trained on
augmented images generates augmented-looking images ("leaking"), unless it is
told what was done. So every training image comes with its describing vector
(genaug_core.augment.pipeline: `Pipeline.apply_with_vectors`, (B, D), zeros
for an image that was not augmented), a bias-free linear map takes it to the
UNet's embedding width, and the result is added to the time (+ class)
embedding, as EDM's `map_augment`. Sampling passes no vector, which is the
zero vector ("no augmentation"): the map adds nothing and the samples come
from the clean distribution.

    amap = attach_augment_map(unet, dim=D, layout=pipe.augment_layout)
    unet(noisy, t, class_labels=y, augment_labels=vectors)   # training: (B, C, S, S), (B,), (B,), (B, D)
    unet(noisy, t, class_labels=y)                           # sampling: exactly the UNet without the map

How it hooks in, without changing diffusers' UNet2DModel:
- the map is a registered submodule (`unet.augment_map`), so the optimizer,
  EMA, gradient clipping, `.to(device)`, DDP and checkpoints see its weight
  like any other;
- a forward pre-hook on the UNet takes the `augment_labels` keyword out of
  the call (UNet2DModel.forward does not know it), and a forward hook on
  `unet.time_embedding` adds the mapped vector to its output; UNet2DModel
  adds the class embedding to that same tensor right after, so the sum is
  time + class + augmentation, as in EDM;
- `without_augment_map(unet)` takes the submodule off while `save_pretrained`
  runs, so the saved weights are a plain UNet2DModel (strict loading, no
  extra keys); the map's weight goes to augment_map.safetensors beside them
  (`save_augment_map` / `load_augment_map`), its size and layout to genaug.json.

The vector's components come in natural units (a 1-pixel shift of an 8x8
digit is 0.125, the sine of a 10 degree rotation 0.17), while the time and
class embeddings they are added to have norms near 10. So the map first
divides each component by its root mean square under the pipeline
(`Pipeline.vector_rms`, measured once when the map is made and saved with
it), as EDM's labels are scaled to about unit size: unscaled, a 1,200-step
digits run learnt additions of about 1% of the embedding's norm (FD 3.65;
scaled: 3.26; the same augmentation without vectors: 3.70). The weight starts at zero (EDM's ADM network initialises
map_augment so), so a fresh map changes nothing until training moves it;
being bias-free, a zero vector never contributes, whatever the weight.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

ATTR = "augment_map"  # the submodule's name on the UNet
WEIGHTS_FILE = "augment_map.safetensors"  # beside the UNet's own weights in a model folder
KWARG = "augment_labels"  # the UNet call's extra keyword (EDM's name)


class AugmentMap(torch.nn.Linear):
    """Linear(D, E, bias=False) of vectors / rms: describing vectors (B, D) -> additions to the embedding (B, E)."""

    def __init__(self, dim: int, emb_dim: int, layout: Sequence[str] = (), rms: Sequence[float] | None = None):
        super().__init__(dim, emb_dim, bias=False)
        torch.nn.init.zeros_(self.weight)  # no effect until trained
        if layout and len(layout) != dim:
            raise ValueError(f"the layout names {len(layout)} components for a {dim}-dimensional map")
        self.layout = tuple(layout)  # component names, "s1.affine.dx", for genaug.json and the log
        # (D,) each component's typical size under the pipeline: the map sees vectors / rms (about unit size)
        self.register_buffer("rms", torch.ones(dim) if rms is None else torch.as_tensor(rms, dtype=torch.float32))
        if self.rms.shape != (dim,) or not bool((self.rms > 0).all()):
            raise ValueError(f"rms must be {dim} positive numbers, got {list(self.rms.shape)}")
        self._labels: torch.Tensor | None = None  # the current call's vectors, between the two hooks

    def forward(self, labels: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, E)
        return torch.nn.functional.linear(labels / self.rms, self.weight)

    def take_labels(self, unet: torch.nn.Module, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict]:
        """UNet forward pre-hook: keep `augment_labels` (B, D) for the time-embedding hook, hide it from diffusers."""
        labels = kwargs.pop(KWARG, None)
        if labels is not None and (labels.ndim != 2 or labels.shape[1] != self.in_features):
            raise ValueError(f"{KWARG} must be (batch, {self.in_features}); got {tuple(labels.shape)}")
        self._labels = labels
        return args, kwargs

    def add_to_embedding(self, module: torch.nn.Module, inputs: tuple, emb: torch.Tensor) -> torch.Tensor | None:
        """time_embedding forward hook: emb (B, E) + map(vectors); no vectors -> emb unchanged."""
        labels, self._labels = self._labels, None
        if labels is None:
            return None
        return emb + self(labels.to(device=self.weight.device, dtype=self.weight.dtype)).to(emb.dtype)


def attach_augment_map(unet: torch.nn.Module, dim: int, layout: Sequence[str] = (),
                       rms: Sequence[float] | None = None) -> AugmentMap:
    """Give `unet` (a diffusers UNet2DModel) a zero-initialised map from D-dimensional vectors; returns it.

    rms: (D,) the components' typical sizes (Pipeline.vector_rms); None = 1 (vectors used as they are).
    """
    if augment_map_of(unet) is not None:
        raise ValueError("this UNet already has an augmentation map")
    if dim < 1:
        raise ValueError(f"an augmentation map needs at least 1 dimension, got {dim}")
    emb = unet.time_embedding.linear_2.out_features  # time_embed_dim: what class embeddings are added to
    ref = next(unet.parameters())
    amap = AugmentMap(dim, emb, layout, rms).to(device=ref.device, dtype=ref.dtype)
    setattr(unet, ATTR, amap)  # a registered submodule: trained, averaged and checkpointed with the UNet
    unet.register_forward_pre_hook(amap.take_labels, with_kwargs=True)
    unet.time_embedding.register_forward_hook(amap.add_to_embedding)
    return amap


def augment_map_of(unet: torch.nn.Module) -> AugmentMap | None:
    """The UNet's map, or None when it trains and samples without vectors."""
    amap = unet._modules.get(ATTR)
    return amap if isinstance(amap, AugmentMap) else None


@contextlib.contextmanager
def without_augment_map(unet: torch.nn.Module) -> Iterator[AugmentMap | None]:
    """The UNet without its map for the duration (its hooks stay): for a plain `save_pretrained`."""
    amap = unet._modules.pop(ATTR, None)
    try:
        yield amap
    finally:
        if amap is not None:
            unet._modules[ATTR] = amap


def meta(amap: AugmentMap) -> dict[str, Any]:
    """What genaug.json says about the map: its size, layout and file."""
    return {"dim": amap.in_features, "layout": list(amap.layout), "weights": WEIGHTS_FILE}


def save_augment_map(amap: AugmentMap, folder: str | Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in amap.state_dict().items()}  # weight (E, D), rms (D,)
    save_file(state, str(Path(folder) / WEIGHTS_FILE))


def load_augment_map(unet: torch.nn.Module, folder: str | Path, info: dict[str, Any]) -> AugmentMap:
    """Attach a map as genaug.json's `info` describes and load its saved weight (shapes checked)."""
    from safetensors.torch import load_file

    amap = attach_augment_map(unet, int(info["dim"]), info.get("layout") or ())
    state = load_file(str(Path(folder) / info.get("weights", WEIGHTS_FILE)))
    amap.load_state_dict(state, strict=True)  # the weight and the rms it was trained with
    return amap


def condition_on_vectors(unet: torch.nn.Module, pipeline: Any, non_leaking: bool, resumed: bool,
                         image_shape: tuple[int, int, int] = (8, 8, 1)) -> tuple[int, str]:
    """Decide whether a run conditions `unet` on describing vectors, attaching the map if so.

    pipeline: the run's image Pipeline, or None (no augmentation); non_leaking: AugmentConfig.non_leaking;
    resumed: the UNet was loaded from a saved folder (a checkpoint or a warm start), which then decides:
    a model trained without a map continues without one (its optimizer state has no slot for it);
    image_shape: (H, W, C) of the images the pipeline augments, to measure the components' sizes.
    Returns (D, the number of vector components each training image needs, 0 = none; the run log's line).
    """
    from genaug_core.errors import ConfigError

    amap = augment_map_of(unet)
    dim = pipeline.augment_dim if pipeline is not None else 0
    if amap is None and not resumed and non_leaking and dim:
        amap = attach_augment_map(unet, dim, pipeline.augment_layout, pipeline.vector_rms(tuple(image_shape)))
    if amap is not None and pipeline is not None and amap.in_features != dim:
        raise ConfigError(
            f"the model's augmentation map takes {amap.in_features} numbers per image, but the pipeline's steps "
            f"describe {dim}; continue with the pipeline it was trained with"
        )
    if pipeline is None:
        return (amap.in_features if amap is not None else 0), ""
    leaks = ", ".join(f"{i + 1}. {pipeline.steps[i].augmenter}" for i in pipeline.leaking_steps)
    if amap is not None:
        note = f"non-leaking conditioning on: {dim}-number describing vector per image, zero when sampling"
        return dim, note + (f"; steps that leak into samples: {leaks}" if leaks else "; no step leaks")
    if not dim:
        why = "no step has a describing vector"
    elif not non_leaking:
        why = "augment.non_leaking = false"
    else:
        why = "the model being continued was trained without it"
    return 0, f"non-leaking conditioning off ({why}): every step can leak into samples"
