"""The training loop: one function, in the style of nanoGPT's train.py, driven by Accelerate.

    train(config, run_dir, resume=False) -> final state ("done" or "cancelled")

Stages, each marked below: set up processes and threads (and whether to
torch.compile: compile_choice); load and
preprocess the data; build the model (or load it from the checkpoint being
resumed); AdamW; then per step: learning rate, forward + L1/L2 penalty,
backward, clip, step, EMA, log, evaluate + samples, checkpoint (by steps, and
by the clock so a running run can be sampled early), STOP check,
threads (cores.py); at the end the final model/ with save_pretrained.

Under `accelerate launch --num_processes N` the same code runs data-parallel
(each process draws its own batches; gradients are averaged). Only the main
process writes to the run folder; the others wait at the same points.

Everything the pages see goes through genaug_core.runs: status.json
(atomic), metrics.jsonl (append), samples/, checkpoint-<step>/, model/.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from genaug_core import runs
from genaug_core.budgets import RUN_SECONDS_ENV, max_run_seconds
from genaug_core.config import RunConfig, TrainConfig
from genaug_core.errors import ConfigError, GenAugError
from genaug_core.train.cores import CoreShare


def lr_at(step: int, cfg) -> float:
    """Linear warmup to cfg.lr, then cosine decay to cfg.lr * min_lr_ratio at the last step (nanoGPT's get_lr)."""
    warmup = min(cfg.warmup_steps, cfg.steps)
    if step < warmup:
        return cfg.lr * (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, cfg.steps - warmup)  # 0 -> 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))  # 1 -> 0
    return cfg.lr * (cfg.min_lr_ratio + coeff * (1 - cfg.min_lr_ratio))


def auto_threads(requested: int, local_processes: int) -> int:
    """Threads per process: the request, or the usable cores shared among this machine's processes."""
    if requested:
        return requested
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, local_processes))


def cpu_only(device: str) -> bool:
    """Train on the CPU: asked for, or no CUDA / MPS device here. Accelerate must be told (cpu=True): on a
    machine without a GPU, `accelerate launch --multi_gpu` or torchrun with cpu=False would start N
    independent runs instead of one data-parallel run over gloo."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    return device == "cpu" or not (torch.cuda.is_available() or (mps is not None and mps.is_available()))


def bf16_is_fast(device: str = "auto") -> bool:
    """Does this machine run bf16 matmuls natively (so autocast speeds training up)?"""
    import torch

    if device == "auto" and torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    cpu = getattr(torch, "cpu", None)
    return bool(
        getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(cpu, "_is_amx_tile_supported", lambda: False)()
    )


def resolve_precision(setting: str, bf16_autocast: bool, device: str = "auto") -> str:
    """TrainConfig.mixed_precision with "auto" decided: bf16 for a model kind that gains from it
    (its `bf16_autocast`) on bf16 hardware, else no."""
    if setting != "auto":
        return setting
    return "bf16" if bf16_autocast and bf16_is_fast(device) else "no"


def _allow_new_precision(precision: str) -> None:
    """Accelerate's state is process-wide and refuses a second precision; a single process that
    trains again (tests, a notebook) may start afresh. Launched multi-process runs train once."""
    from accelerate.state import AcceleratorState

    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") != precision and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        AcceleratorState._reset_state()


def build_optimizer(model, tc: TrainConfig, device):
    """AdamW with weight decay only on the matrices (nanoGPT's two groups), fused where torch has the kernel.

    The fused kernel updates a tensor in one pass instead of one op per
    formula term: the default text preset's whole step runs ~10% faster on
    CPU than with foreach (`bench/train_text.py`, "ours with foreach AdamW").
    """
    import torch

    from genaug_core.train.regularization import penalized_parameters

    decay = penalized_parameters(model)
    decay_ids = {id(p) for p in decay}
    no_decay = [p for p in model.parameters() if p.requires_grad and id(p) not in decay_ids]
    fused = device.type in ("cpu", "cuda")  # torch's fused AdamW kernels; foreach elsewhere
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": tc.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=tc.lr,
        betas=(tc.beta1, tc.beta2),
        fused=fused,
        foreach=None if fused else True,
    )


def missing_cpu_compiler() -> str | None:
    """None if torch.compile can build CPU kernels here, else why not (inductor calls a C++ compiler:
    $CXX, else g++ / clang++ on macOS)."""
    import shutil

    cxx = os.environ.get("CXX") or ("clang++" if sys.platform == "darwin" else "g++")
    return None if shutil.which(cxx) else f"torch.compile on a CPU needs a C++ compiler and {cxx!r} is not on PATH"


def compile_choice(
    setting: str | bool, planned_steps: int, kind, precision: str = "no", on_cpu: bool = False
) -> tuple[bool, str]:
    """TrainConfig.compile decided: (compile the model?, the log line that says why).

    "auto" compiles only when this process will train more steps than the kind's
    `compile_break_even` at this precision: the step count at which the time compiling
    costs is won back by faster steps, measured by bench/compile.py (none listed: never).
    On a CPU without a C++ compiler, "auto" does not compile and true is a ConfigError.
    """
    if setting is False:
        return False, "not compiling: train.compile = false"
    missing = missing_cpu_compiler() if on_cpu else None
    if setting is True:
        if missing:
            raise ConfigError(f"train.compile = true: {missing}; install one (e.g. g++) or set train.compile = 'auto'")
        return True, "compiling: train.compile = true"
    name = "fp32" if precision == "no" else precision
    even, why = kind.compile_break_even.get(precision), f"for {kind.name} in {name} (train.compile = auto)"
    if even is None:
        return False, f"not compiling: torch.compile was not measured to pay back {why}"
    if planned_steps > even and missing:
        return False, f"not compiling: {missing} ({planned_steps:,} steps > break-even ~{even:,} {why})"
    if planned_steps > even:
        return True, f"compiling: {planned_steps:,} steps > break-even ~{even:,} {why}"
    return False, f"not compiling: {planned_steps:,} steps <= break-even ~{even:,} {why}"


def _resume_step(run_dir: Path) -> int:
    """The step a resumed run continues from (0 without a complete checkpoint)."""
    from genaug_core.train.checkpoint import read_state

    ckpt = runs.latest_checkpoint(run_dir)
    return int(read_state(ckpt)["step"]) if ckpt is not None else 0


def failure_message(exc: BaseException) -> str:
    """What status.json says about a run that ended with `exc` (the full traceback is in log.txt)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, GenAugError):  # the user's to fix: the message says how
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def train(
    cfg: RunConfig, run_dir: str | Path, resume: bool = False, progress: bool | None = None,
    dataset=None, init_model_dir: str | Path | None = None,
) -> str:  # fmt: skip
    """Train `cfg` into the existing run folder `run_dir`; returns "done" or "cancelled".

    Self-training rounds (genaug_core.train.selftrain) pass `dataset`: an already loaded and
    preprocessed Dataset (real + synthetic items, with a fixed split whose validation part is the
    real held-out data) used instead of cfg.data; and `init_model_dir`: a saved model/ folder whose
    weights (and tokenizer) start the run (warm start; a checkpoint being resumed wins).

    Any error marks the run failed with its message (the traceback goes to
    log.txt) and is raised again for the caller to report.
    """
    # --- processes, device and threads -----------------------------------------------------
    import torch
    from accelerate import Accelerator

    run_dir = Path(run_dir)
    tc = cfg.train
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(auto_threads(tc.threads, local_processes))
    # threads "auto" in a single process: follow the cores other work leaves free (cores.py)
    share = CoreShare(torch.get_num_threads()) if not tc.threads and local_processes == 1 else None
    from genaug_core import kinds
    from genaug_core.data import kind_of

    # the model kind: the config's, or the default for the data (a self-training round passes its dataset);
    # for images "auto" depends on their size, so the data is loaded (and preprocessed) here to look
    notes: list[str] = []
    data_kind = dataset.kind if dataset is not None else kind_of(cfg.data.source)
    try:
        if cfg.model.kind == "auto" and data_kind == "image" and dataset is None:
            dataset, notes = _load_data(cfg)
        kind = kinds.for_run_config(cfg, data_kind, dataset.height if data_kind == "image" and dataset else 0)
    except Exception as exc:  # before Accelerate starts: the main process (rank 0) marks the run failed
        if int(os.environ.get("RANK", "0")) == 0:
            runs.write_status(run_dir, state="failed", error=failure_message(exc), eta_s=None)
        raise
    precision = resolve_precision(tc.mixed_precision, kind.bf16_autocast, tc.device)
    _allow_new_precision(precision)
    planned = tc.steps - (_resume_step(run_dir) if resume else 0)  # the steps this process will train
    on_cpu = cpu_only(tc.device)
    try:
        compiled, compile_note = compile_choice(tc.compile, planned, kind, precision, on_cpu)
    except ConfigError as exc:  # before Accelerate starts: the main process (rank 0) marks the run failed
        if int(os.environ.get("RANK", "0")) == 0:
            runs.write_status(run_dir, state="failed", error=str(exc), eta_s=None)
        raise
    accelerator = Accelerator(
        cpu=on_cpu,
        mixed_precision=precision,
        dynamo_backend="inductor" if compiled else "no",  # Accelerate wraps the model in torch.compile
    )
    main = accelerator.is_main_process
    log = runs.RunLog(run_dir, main)
    log(compile_note)
    for note in notes:
        log(f"preprocess: {note}")
    if main:
        runs.write_status(
            run_dir, state="running", **runs.this_process(), error=None, total=tc.steps,
            threads=torch.get_num_threads(),
        )  # fmt: skip
    # a cancel request (STOP file) or SIGTERM ends the run at the next step boundary, with a checkpoint
    stop_signal = {"hit": False}
    previous_handler = None
    if main and threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGTERM, lambda *_: stop_signal.update(hit=True))
    try:
        with runs.Heartbeat(run_dir) if main else contextlib.nullcontext():  # `updated` stays fresh meanwhile
            return _train(cfg, kind, run_dir, resume, progress, accelerator, log, stop_signal, share, dataset,
                          init_model_dir)  # fmt: skip
    except BaseException as exc:
        if main:
            log.traceback()
            runs.write_status(run_dir, state="failed", error=failure_message(exc), eta_s=None)
        raise
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
        log.close()


def _load_data(cfg: RunConfig):
    """The run's dataset, loaded and preprocessed: (Dataset, preprocessing notes for the log)."""
    from genaug_core.data import load_dataset
    from genaug_core.data.preprocess import preprocess

    return preprocess(load_dataset(cfg.data), cfg.preprocess)


def _train(
    cfg: RunConfig, kind, run_dir: Path, resume: bool, progress: bool | None, accelerator, log: runs.RunLog, stop_signal: dict,
    share: CoreShare | None, dataset=None, init_model_dir: str | Path | None = None,
) -> str:  # fmt: skip
    import torch

    from genaug_core.train.checkpoint import load_training_state, save_checkpoint
    from genaug_core.train.data import step_seed
    from genaug_core.train.ema import EMA
    from genaug_core.train.regularization import penalized_parameters, weight_penalty

    tc, reg = cfg.train, cfg.regularization
    main, rank, world = accelerator.is_main_process, accelerator.process_index, accelerator.num_processes

    # --- data: load, preprocess, split (the same split in every process) -----------------------
    if dataset is None:
        ds, notes = _load_data(cfg)
        for note in notes:
            log(f"preprocess: {note}")
    else:  # a self-training round (real + synthetic data), or data train() loaded: already preprocessed
        ds = dataset

    # --- model: fresh, or the weights of the checkpoint we resume from -------------------------
    ckpt = runs.latest_checkpoint(run_dir) if resume else None
    if resume and main:
        runs.clear_temp(run_dir)
        runs.clear_stop(run_dir)
        if ckpt is None:
            log("resume: no complete checkpoint yet, starting from step 0")
    torch.manual_seed(tc.seed)  # the initial weights
    start_from = ckpt / runs.MODEL_DIR if ckpt else (Path(init_model_dir) if init_model_dir else None)
    task = kind.make_task(cfg, ds, accelerator.device, rank, start_from)
    model = task.model
    tc = tc.resolved(kind)  # "auto" learning rate and batch size of this model kind

    # --- optimizer: AdamW, weight decay only on matrices (nanoGPT's two groups), fused -----------------
    optimizer = build_optimizer(model, tc, accelerator.device)
    ema = EMA(model, tc.ema_decay, tc.ema_power) if tc.ema_decay > 0 else None
    step, elapsed, units_seen = 0, 0.0, 0
    if ckpt is not None:
        state = load_training_state(ckpt, optimizer, ema)
        step, elapsed, units_seen = int(state["step"]), float(state.get("elapsed_s", 0.0)), int(state.get("units", 0))
        if main:
            _truncate_history(run_dir, step)
            log(f"resume: from {ckpt.name} (step {step} of {tc.steps})")
    model, optimizer = accelerator.prepare(model, optimizer)
    raw_model = accelerator.unwrap_model(model, keep_torch_compile=False)  # same parameters, no DDP wrapper
    penalty_params = penalized_parameters(raw_model)

    if main:
        (run_dir / runs.SAMPLES_DIR).mkdir(exist_ok=True)
        runs.write_status(run_dir, kind=kind.data, model_kind=kind.name, step=step, total=tc.steps, processes=world)
        log(f"run {run_dir.name}: {ds.name} ({kind.data}, {len(ds):,} items), {kind.title}, {tc.steps} steps")
        log(
            f"on {world} x {accelerator.device}, {torch.get_num_threads()} threads each, "
            f"precision {accelerator.mixed_precision}"
        )
        log(f"model: {task.describe()}")
        if reg.penalty != "none" and reg.penalty_lambda > 0:
            log(f"regularization: {reg.penalty} penalty, lambda {reg.penalty_lambda:g}")
        if reg.noise_eps > 0:
            alpha = " (NEFTune alpha)" if reg.neftune else ""
            log(f"regularization: {reg.noise_norm} ball noise on {kind.noise_target}, eps {reg.noise_eps:g}{alpha}")
        if cfg.augment.pipeline and cfg.augment.p > 0:
            log(f"augmentation: pipeline applied with probability {cfg.augment.p:g}")
            if task.augment_note:
                log(f"augmentation: {task.augment_note}")

    def evaluate_and_sample(at_step: int, t_now: float) -> None:
        """Validation loss on the real held-out data, and samples into samples/ (main process only)."""
        if not main:
            return
        with ema.swapped_into(raw_model) if ema is not None else contextlib.nullcontext():
            metrics = task.evaluate(raw_model)
            if metrics:
                runs.append_metrics(
                    run_dir, {"step": at_step, "split": "val", **runs.scalars(metrics), "time": round(t_now, 3)}
                )
                log(
                    f"step {at_step}: val loss {metrics['loss']:.4f}"
                    + (f", {metrics['bpc']:.3f} bits/char" if "bpc" in metrics else "")
                )
            if tc.num_samples:
                task.write_samples(
                    raw_model, run_dir / runs.SAMPLES_DIR / f"step-{at_step:07d}", tc.num_samples, tc.seed
                )

    last_ckpt = {"step": step, "t": time.perf_counter()}  # the newest checkpoint this process wrote

    def checkpoint(at_step: int, t_now: float) -> None:
        if main:
            t0 = time.perf_counter()
            path = save_checkpoint(
                run_dir, at_step, lambda folder: task.save(raw_model, folder), optimizer.optimizer, ema,
                {"elapsed_s": t_now, "units": units_seen, "total": tc.steps}, tc.keep_checkpoints,
            )  # fmt: skip
            log(f"step {at_step}: saved {path.name} in {time.perf_counter() - t0:.2f}s")
        last_ckpt.update(step=at_step, t=time.perf_counter())

    from tqdm.auto import tqdm

    show_bar = main and (progress if progress is not None else sys.stderr.isatty())
    bar = tqdm(total=tc.steps, initial=step, unit="step", disable=not show_bar)
    t_start = time.perf_counter() - elapsed  # "time" in metrics: wall seconds of training, across resumes
    session_t0, session_step0 = time.perf_counter(), step  # for the ETA (evaluations included)
    step_time, units_log, losses = 0.0, 0, []  # since the last log line (pure step time, for the speed)
    if step == 0 and tc.eval_every:
        evaluate_and_sample(0, 0.0)
    final_state = "done"
    limit_s = max_run_seconds()  # $GENAUG_MAX_RUN_SECONDS: this process trains at most that long
    process_t0 = runs.process_start_time(os.getpid()) or time.time()
    over_time = False
    model.train()

    while step < tc.steps:
        t0 = time.perf_counter()
        # --- 1. learning rate for this step: warmup, then cosine ---------------------------------
        lr = lr_at(step, tc)
        for group in optimizer.param_groups:
            group["lr"] = lr

        # --- 2. forward: the task's loss on a random batch, plus the L1/L2 weight penalty --------
        torch.manual_seed(step_seed(tc.seed, rank, step, stream=2))  # dropout: reproducible on resume
        with accelerator.autocast():
            loss, units = task.loss(model, step)
        penalty = weight_penalty(penalty_params, reg.penalty, reg.penalty_lambda)
        total_loss = loss + penalty

        # --- 3. backward (gradients averaged across processes), clip, step -------------------------
        accelerator.backward(total_loss)
        if tc.grad_clip > 0:
            accelerator.clip_grad_norm_(model.parameters(), tc.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if ema is not None:
            ema.update(raw_model)
        step += 1
        units_seen += units * world
        units_log += units * world
        losses.append(float(loss.detach()))  # (also waits for the step to finish on a GPU)
        step_time += time.perf_counter() - t0
        bar.update(1)
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"the loss became {losses[-1]} at step {step}; lower the learning rate")

        # --- 4. log: train loss, speed, ETA ------------------------------------------------------
        now = time.perf_counter()
        if main and (step % tc.log_every == 0 or step == tc.steps):
            speed = units_log / max(step_time, 1e-9)
            steps_per_s = (step - session_step0) / max(now - session_t0, 1e-9)
            rec: dict[str, Any] = {"step": step, "split": "train", "loss": sum(losses) / len(losses)}
            rec.update(task.train_record(rec["loss"]))
            rec.update(lr=lr, time=now - t_start, penalty=float(penalty.detach()))
            rec[f"{kind.unit}_per_s"] = speed
            runs.append_metrics(run_dir, runs.scalars(rec))
            eta = (tc.steps - step) / max(steps_per_s, 1e-9)
            runs.write_status(
                run_dir, step=step, elapsed_s=round(now - t_start, 2), steps_per_s=round(steps_per_s, 3),
                eta_s=round(eta, 1), loss=round(rec["loss"], 5),
            )  # fmt: skip
            bar.set_postfix(loss=f"{rec['loss']:.4f}", refresh=False)
            if bar.disable:
                log(f"step {step}/{tc.steps}: loss {rec['loss']:.4f}, {speed:,.0f} {kind.unit}/s, eta {eta:.0f}s")
            step_time, units_log, losses = 0.0, 0, []

        # --- 5. evaluate on real held-out data and write samples -------------------------------
        if tc.eval_every and step % tc.eval_every == 0 and step < tc.steps:
            evaluate_and_sample(step, now - t_start)
            accelerator.wait_for_everyone()

        # --- 6. checkpoint: every checkpoint_every steps (all processes meet), and on the main process
        # alone when checkpoint_every_s seconds passed since the last (the Sample page's newest weights;
        # the other processes need not wait: they meet the main one at the next gradient all-reduce)
        if tc.checkpoint_every and step % tc.checkpoint_every == 0 and step < tc.steps:
            checkpoint(step, time.perf_counter() - t_start)
            accelerator.wait_for_everyone()
        elif main and tc.checkpoint_every_s and step < tc.steps:
            if time.perf_counter() - last_ckpt["t"] >= tc.checkpoint_every_s:
                checkpoint(step, time.perf_counter() - t_start)

        # --- 7. cancel: a STOP file (or SIGTERM), or the wall-time budget -> checkpoint, cancelled ----
        over_time = limit_s is not None and time.time() - process_t0 > limit_s
        if main and (stop_signal["hit"] or runs.stop_requested(run_dir) or over_time):
            accelerator.set_trigger()
        if accelerator.check_trigger():
            if last_ckpt["step"] != step:
                checkpoint(step, time.perf_counter() - t_start)
            final_state = "cancelled"
            break

        # --- 8. threads: the cores other work leaves free, re-measured every 2 s ----------------------
        want = share.threads() if share is not None else None
        if want and want != torch.get_num_threads():
            torch.set_num_threads(want)
            runs.write_status(run_dir, threads=want)
            log(f"step {step}: {want} torch thread(s); other work keeps {share.others:.1f} of {share.cores} cores busy")
    bar.close()

    # --- the end: final evaluation, samples and the save_pretrained model --------------------------
    t_end = time.perf_counter() - t_start
    if final_state == "done":
        evaluate_and_sample(step, t_end)
        if main:
            with runs.atomic_dir(run_dir / runs.MODEL_DIR) as tmp:
                with ema.swapped_into(raw_model) if ema is not None else contextlib.nullcontext():
                    task.save(raw_model, tmp)
            checkpoint(step, t_end)  # so that a finished run can be resumed with more steps
    accelerator.wait_for_everyone()
    if main:
        runs.clear_stop(run_dir)
        budget_note = (f"stopped at the time budget: a training process may run {limit_s:g} s ({RUN_SECONDS_ENV}); "
                       "Resume continues from the checkpoint") if over_time else None
        runs.write_status(run_dir, state=final_state, step=step, elapsed_s=round(t_end, 2), eta_s=None,
                          error=budget_note)
        log(
            f"{final_state} at step {step} after {t_end:.1f}s of training"
            + (
                ""
                if final_state == "done"
                else f"; resume with: python -m genaug_core train --run-dir {run_dir} --resume"
            )
        )
    accelerator.end_training()
    return final_state


def _truncate_history(run_dir: Path, step: int) -> None:
    """On resume, drop metrics and samples written after the checkpoint (they will be produced again)."""
    runs.keep_metrics(run_dir, lambda r: int(r.get("step", 0)) <= step)
    for s, path in runs.list_samples(run_dir):
        if s > step:
            path.unlink(missing_ok=True)
