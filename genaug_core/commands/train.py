"""`python -m genaug_core train`: train a model into a run folder.

    python -m genaug_core train --config configs/names_gpt2.toml         # a new run under ./runs
    python -m genaug_core train --dataset digits --steps 3000            # built-in defaults + overrides
    python -m genaug_core train --run-dir runs/<id>                      # a queued run (the app's job runner)
    python -m genaug_core train --config configs/selftrain_names_replace.toml  # self-training rounds
    python -m genaug_core train --run-dir runs/<id> --resume [--steps N] # continue from the newest checkpoint
    accelerate launch --cpu --num_processes 2 -m genaug_core train ...   # data-parallel, one run folder

A bad config exits with status 2 and one `error:` line. An error during
training marks the run failed with the message; the traceback goes to the
run's log.txt.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from genaug_core.config import RunConfig, merge_settings, read_run_config, read_settings_file
from genaug_core.errors import ConfigError, GenAugError, RunError


def add_parser(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("what to train")
    src.add_argument("--config", type=Path, help="a RunConfig as TOML (see configs/) or JSON")
    src.add_argument(
        "--dataset", help="a built-in dataset (digits, shapes, names, prose) or a data file, with defaults"
    )
    src.add_argument(
        "--run-dir", type=Path, help="the run folder (default: a new folder under $GENAUG_RUNS_DIR or ./runs)"
    )
    src.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its newest checkpoint")
    src.add_argument("--name", help="a display name for the run list")
    ov = parser.add_argument_group("overrides of the config")
    ov.add_argument("--steps", type=int, help="total optimizer steps")
    ov.add_argument("--model", help="model kind: auto (the data's default), gpt2, char_lstm (text) or ddpm (images)")
    ov.add_argument("--preset", help="the model kind's preset, e.g. tiny, small, medium (DDPM also: auto)")
    ov.add_argument("--batch-size", type=int)
    ov.add_argument("--lr", type=float, help="peak learning rate")
    ov.add_argument("--seed", type=int)
    ov.add_argument("--threads", type=int, help="torch threads per process (0 = auto)")
    ov.add_argument("--device", choices=["auto", "cpu"])
    ov.add_argument("--eval-every", type=int)
    ov.add_argument("--checkpoint-every", type=int)
    ov.add_argument("--eval-samples", type=int, help="samples scored into evaluation.json at the end (0 = off)")
    ov.add_argument("--penalty", choices=["none", "l1", "l2"], help="L1/L2 penalty on the weights")
    ov.add_argument("--penalty-lambda", type=float)
    ov.add_argument("--noise-eps", type=float, help="radius of the input noise ball")
    ov.add_argument("--noise-norm", choices=["l1", "l2", "linf"])
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (log lines instead)")


# overrides allowed on --resume: they do not change the model or the data
_RESUMABLE = {"steps", "threads", "device", "eval_every", "checkpoint_every", "eval_samples"}


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The command-line overrides as a nested dict of config sections."""
    out: dict[str, dict[str, Any]] = {}
    train = {
        k: getattr(args, k)
        for k in ("steps", "batch_size", "lr", "seed", "threads", "device", "eval_every", "checkpoint_every",
                  "eval_samples")
        if getattr(args, k) is not None
    }
    if train:
        out["train"] = train
    reg = {
        k: getattr(args, k)
        for k in ("penalty", "penalty_lambda", "noise_eps", "noise_norm")
        if getattr(args, k) is not None
    }
    if reg:
        out["regularization"] = reg
    return out


def build_config(args: argparse.Namespace) -> RunConfig:
    """The RunConfig from --config / --dataset plus overrides (validated)."""
    if args.config and args.dataset:
        raise ConfigError("give --config or --dataset, not both")
    if args.config:
        if args.config.suffix == ".json":
            text = read_settings_file(args.config, "config")
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise ConfigError(f"{args.config}: the config is not valid JSON ({exc})") from None
            cfg = RunConfig.from_dict(data)
        else:
            cfg = RunConfig.load(args.config)
    elif args.dataset:
        cfg = RunConfig.from_dict({"data": {"source": args.dataset}})
    else:
        raise ConfigError("say what to train: --config FILE, --dataset NAME, or --run-dir of a queued run")
    data = merge_settings(cfg.to_dict(), _overrides(args))
    if args.name is not None:
        data["name"] = args.name
    from genaug_core import kinds
    from genaug_core.data import kind_of

    if args.model:
        data["model"]["kind"] = args.model
    if args.preset:
        data_kind = kind_of(data["data"]["source"])
        kind = kinds.resolve(data["model"]["kind"], data_kind)
        if args.preset not in kind.presets():
            raise ConfigError(f"--preset {args.preset!r} is not a {kind.name} preset; choose one of: "
                              + ", ".join(kind.presets()))
        # "auto" picks an image kind by the data's size once it is loaded: give each candidate the preset
        candidates = kinds.kinds_for(data_kind) if data["model"]["kind"] == "auto" else [kind]
        for k in candidates:
            if args.preset in k.presets():
                data["model"][k.section]["preset"] = args.preset
    cfg = RunConfig.from_dict(data)
    kinds.for_run_config(cfg, kind_of(cfg.data.source))  # a kind that does not fit the data fails before any folder
    return cfg


def _prepare_run(args: argparse.Namespace) -> tuple[RunConfig, Path, bool]:
    """(config, run folder, resume) for this invocation; creates the folder when new (main process only)."""
    from genaug_core import runs

    if args.resume:
        if not args.run_dir:
            raise ConfigError("--resume needs --run-dir")
        if args.config or args.dataset:
            raise ConfigError("--resume continues the run's own config; drop --config / --dataset")
        cfg = read_run_config(args.run_dir)
        extra = _overrides(args)
        bad = sorted((set(extra.get("train", {})) - _RESUMABLE) | set(extra.get("regularization", {})))
        if bad or args.preset:
            raise ConfigError(f"on --resume only {', '.join(sorted(_RESUMABLE))} can change")
        status = runs.read_status(args.run_dir)
        state, _ = runs.effective_state(status)
        if state == "running":
            raise RunError(f"{args.run_dir} is still running (pid {status.get('pid')}); cancel it first")
        new = RunConfig.from_dict(merge_settings(cfg.to_dict(), extra))
        return new, args.run_dir, True
    if args.run_dir and (args.run_dir / runs.CONFIG_FILE).exists() and not (args.config or args.dataset):
        cfg = read_run_config(args.run_dir)  # a run queued by the app's job runner
        status = runs.read_status(args.run_dir)
        if status["state"] != "queued":
            raise RunError(f"{args.run_dir} is {status['state']}, not queued; use --resume to continue it")
        return cfg, args.run_dir, False
    return build_config(args), args.run_dir, False


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from genaug_core import runs
    from genaug_core.train.loop import cpu_only, train

    # validate everything before any folder is made, in every process
    cfg, run_dir, resume = _prepare_run(args)
    from genaug_core.train.jobs import check_compute

    check_compute(cfg)  # steps x batch (x rounds) within $GENAUG_MAX_RUN_ITEMS, before any folder is made
    if cfg.self_train.rounds > 0:  # self-training: the rounds run as one run, round-<k>/ folders inside
        from genaug_core.train.selftrain import self_train as train
    state = PartialState(cpu=cpu_only(cfg.train.device))  # one data-parallel run across launched processes
    if state.is_main_process:
        if resume:
            runs.write_json_atomic(run_dir / runs.CONFIG_FILE, cfg.to_dict())  # --steps may have grown
        elif run_dir is None or not (run_dir / runs.CONFIG_FILE).exists():
            run_dir = runs.create_run(cfg, run_dir=run_dir)
    if state.num_processes > 1:  # the other processes learn the folder the main one made
        from accelerate.utils import broadcast_object_list

        box = [str(run_dir) if state.is_main_process else None]
        broadcast_object_list(box, from_process=0)
        run_dir = Path(box[0])
        state.wait_for_everyone()
    if state.is_main_process:
        print(f"run folder: {run_dir}", flush=True)
    try:
        final = train(cfg, run_dir, resume=resume, progress=False if args.no_progress else None)
    except GenAugError:
        raise  # the CLI prints `error: <message>` and exits 2; status.json already says failed
    except Exception as exc:  # a bug or a resource problem: one line here, the traceback in log.txt
        print(f"error: {type(exc).__name__}: {exc} (traceback in {run_dir / runs.LOG_FILE})", file=sys.stderr)
        return 1
    if state.is_main_process and final == "done" and cfg.train.eval_samples and not cfg.self_train.rounds:
        # score it (never fails the run); self-training scores every round itself
        from genaug_core.evaluate import evaluate_after_training

        evaluate_after_training(run_dir, cfg.train.eval_samples)
    if state.is_main_process:
        print(f"{final}: {run_dir}", flush=True)
    return 0 if final in ("done", "cancelled") else 1
