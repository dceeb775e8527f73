"""An exponential moving average (EMA) of the weights, for the saved model.

    shadow <- decay_t * shadow + (1 - decay_t) * weights

after every optimizer step n, with a warm-up of the decay as diffusers' EMAModel does it
(diffusers.training_utils.EMAModel.get_decay):

    power = 0 (default):  decay_t = min(decay, (1 + n) / (10 + n))
    power > 0:            decay_t = min(decay, 1 - (1 + n) ** -power)    (use_ema_warmup, inv_gamma 1)

The warm-up keeps early averages from being dominated by the random
initialisation. The two forms differ in how long the average's memory grows:
at step 100 the first gives 0.918 and power 2/3 (diffusers' suggestion for
runs of tens of thousands of steps; 3/4 for longer ones) 0.954; at step 600
both are ~0.985; power 1/2 gives 0.959 there, a shorter memory that lags
the weights less on a short run. For diffusion models the average samples
visibly cleaner images once a run has done a few thousand steps; on very
short runs it lags behind (measured: it hurt at ~600 steps with the first
form). bench/train_image.py measures the forms on the digits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float, power: float = 0.0):
        self.decay = decay
        self.power = power  # 0 = the (1 + n) / (10 + n) warm-up; > 0 = diffusers' use_ema_warmup power
        self.updates = 0
        # float parameters only, by name (tied weights appear once)
        self.shadow = {n: p.detach().clone() for n, p in model.named_parameters() if p.dtype.is_floating_point}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        d = self.decay_at(self.updates)
        params = dict(model.named_parameters())
        names = list(self.shadow)
        torch._foreach_lerp_([self.shadow[n] for n in names], [params[n].detach() for n in names], 1 - d)

    def decay_at(self, n: int) -> float:
        """The decay used at the n-th update (n >= 1)."""
        warm = 1 - (1 + n) ** -self.power if self.power > 0 else (1 + n) / (10 + n)
        return min(self.decay, warm)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {n: t.contiguous() for n, t in self.shadow.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int) -> None:
        for n, t in state.items():
            if n in self.shadow:
                self.shadow[n].copy_(t)
        self.updates = updates

    @contextlib.contextmanager
    def swapped_into(self, model: torch.nn.Module) -> Iterator[torch.nn.Module]:
        """Temporarily put the averaged weights into `model` (to evaluate, sample or save it)."""
        params = dict(model.named_parameters())
        backup = {n: params[n].detach().clone() for n in self.shadow}
        with torch.no_grad():
            for n, t in self.shadow.items():
                params[n].copy_(t)
        try:
            yield model
        finally:
            with torch.no_grad():
                for n, t in backup.items():
                    params[n].copy_(t)
