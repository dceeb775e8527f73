"""Resumable checkpoints without pickle.

    checkpoint-<step>/model/                 save_pretrained weights (+ tokenizer / scheduler config)
    checkpoint-<step>/optimizer.safetensors  AdamW's per-parameter tensors: "<param index>.<name>"
    checkpoint-<step>/optimizer.json         AdamW's param_groups (lr, betas, ...) and any scalar state
    checkpoint-<step>/ema.safetensors        the EMA weights (when EMA is on)
    checkpoint-<step>/state.json             step, elapsed seconds, EMA update count, items seen

There is no random-generator state to save: every step draws from a seed
made of (run seed, process rank, step) (see data.py), so a resumed run
continues exactly. The learning rate is a function of the step.

The folder is written as .tmp-checkpoint-<step> and renamed when complete
(runs.atomic_dir); then all but the newest `keep` checkpoints are deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from genaug_core import runs
from genaug_core.train.ema import EMA


def save_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    sd = optimizer.state_dict()  # {"state": {index: {name: tensor or number}}, "param_groups": [...]}
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    save_file(tensors, str(folder / "optimizer.safetensors"))
    (folder / "optimizer.json").write_text(
        json.dumps({"param_groups": sd["param_groups"], "scalars": scalars}), encoding="utf-8"
    )


def load_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    meta = json.loads((folder / "optimizer.json").read_text(encoding="utf-8"))
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in load_file(str(folder / "optimizer.safetensors")).items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = tensor
    for index, values in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    run_dir: Path,
    step: int,
    save_model: Callable[[Path], None],  # writes model/ into the folder it is given
    optimizer: torch.optim.Optimizer,
    ema: EMA | None,
    state: dict[str, Any],
    keep: int,
) -> Path:
    """Write checkpoint-<step>/ atomically, then keep only the newest `keep` checkpoints."""
    final = runs.checkpoint_dir(run_dir, step)
    with runs.atomic_dir(final) as tmp:
        (tmp / runs.MODEL_DIR).mkdir()
        save_model(tmp / runs.MODEL_DIR)
        save_optimizer(optimizer, tmp)
        if ema is not None:
            save_file(ema.state_dict(), str(tmp / "ema.safetensors"))
        state = {**state, "step": step, "ema_updates": ema.updates if ema is not None else 0}
        (tmp / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    runs.prune_checkpoints(run_dir, keep)
    return final


def read_state(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "state.json").read_text(encoding="utf-8"))


def load_training_state(folder: Path, optimizer: torch.optim.Optimizer, ema: EMA | None) -> dict[str, Any]:
    """Restore optimizer and EMA from a checkpoint (the weights are loaded with the model); returns state.json."""
    state = read_state(folder)
    load_optimizer(optimizer, folder)
    if ema is not None and (folder / "ema.safetensors").exists():
        ema.load_state_dict(load_file(str(folder / "ema.safetensors")), state.get("ema_updates", 0))
    return state
