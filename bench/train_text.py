"""Benchmark: our GPT-2 training step against a plain-PyTorch minimal GPT of the same shape.

    .venv/bin/python bench/train_text.py [--quick] [--threads N] [--skip-speed] [--skip-quality] [--compile] [--fp32]

1. Speed: tokens/s of a training step (forward, backward, clip, AdamW) at
   batch 12 x 64 on the same data, in the same process, in interleaved
   rounds: the reference (nanoGPT-style model written below, fp32, as
   nanoGPT runs on a CPU) and our step as the loop runs it (HF
   GPT2LMHeadModel with the loop's attention kernel, optimizer and
   precision). Extra rows undo one of our choices at a time, and give the
   reference the same generic tricks, so the table shows where the
   difference comes from; --compile adds torch.compile and a row for a
   whole run of the default length with the compile time included; --fp32
   runs our step in fp32, as on a CPU without fast bf16. Ratios are the
   median of per-round ratios. Model FLOPs utilisation (MFU) is against the
   matmul peaks this bench measures on the machine it runs on (fp32 and bf16,
   bench/machine.py), printed with the CPU's name and flags.
   Target: ours >= 1.3x the reference.
2. Time to quality on names and prose: the reference trains 2,000
   iterations (or 300 with --quick) and records its final validation loss;
   our default preset then trains through the real loop (genaug_core.train)
   and we report the wall time at which its validation loss first reaches
   the reference's. Target: <= 0.75x the reference's wall time.

Other processes on the machine change every number here: run it alone.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# isort: off
import genaug_core  # noqa: E402,F401  (offline defaults before torch loads)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# isort: on

from machine import describe, matmul_peak  # noqa: E402  (bench/machine.py)

# --- the reference: a minimal GPT (nanoGPT's model.py, trimmed) -------------------------------


class Block(nn.Module):
    def __init__(self, d: int, h: int):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):  # (B, T, d)
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))  # (B, h, T, d/h)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class MiniGPT(nn.Module):
    def __init__(self, vocab: int, block: int, n_layer: int, n_head: int, d: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(block, d)
        self.blocks = nn.ModuleList(Block(d, n_head) for _ in range(n_layer))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.wte.weight  # weight tying, as GPT-2
        self.apply(lambda m: nn.init.normal_(m.weight, std=0.02) if isinstance(m, (nn.Linear, nn.Embedding)) else None)

    def forward(self, idx):  # (B, T) -> logits (B, T, vocab)
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1)))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


def flops_per_token(n_params: int, n_layer: int, d: int, t: int) -> float:
    """nanoGPT's estimate: 6N for the weights plus 12 L d T for attention, forward + backward."""
    return 6 * n_params + 12 * n_layer * d * t


# --- shared setup -------------------------------------------------------------------------------


def make_run_config(source: str, steps: int, **train):
    from genaug_core.config import RunConfig

    return RunConfig.from_dict(
        {
            "data": {"source": source},
            "train": {"steps": steps, "device": "cpu", "num_samples": 0, "checkpoint_every": 0, **train},
        }
    )


def our_task(cfg):
    """The text Task exactly as the loop builds it (data, tokenizer, model)."""
    from genaug_core import kinds
    from genaug_core.data import load_dataset
    from genaug_core.data.preprocess import preprocess

    ds, _ = preprocess(load_dataset(cfg.data), cfg.preprocess)
    torch.manual_seed(0)
    return kinds.for_run_config(cfg, ds.kind).make_task(cfg, ds, torch.device("cpu"), 0, None)


def step_fn(model, loss_fn, optimizer, autocast=False):
    """One training step as the loop does it: forward (under autocast), backward, clip, optimizer step."""

    def step(i):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(model, i)
        loss = loss[0] if isinstance(loss, tuple) else loss  # the task returns (loss, tokens)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    step.optimizer = optimizer  # the time-to-quality run sets its learning rate per iteration
    return step


def reference_optimizer(model, lr=1e-3, fused=False):
    """nanoGPT's AdamW: decay on matrices only; foreach (nanoGPT uses the fused kernel only on CUDA)."""
    from genaug_core.train.regularization import penalized_parameters

    decay = penalized_parameters(model)
    ids = {id(p) for p in decay}
    rest = [p for p in model.parameters() if id(p) not in ids]
    kind = {"fused": True} if fused else {"foreach": True}
    return torch.optim.AdamW(
        [{"params": decay}, {"params": rest, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99), **kind
    )


def time_steps(step, start: int, n: int) -> float:
    t = time.perf_counter()
    for i in range(start, start + n):
        step(i)
    return time.perf_counter() - t


def bench_speed(args) -> None:
    from genaug_core.models.text import build_text_model
    from genaug_core.train.loop import build_optimizer, resolve_precision

    cfg = make_run_config("prose", 10)
    task = our_task(cfg)  # the model exactly as the loop builds it (attention kernel included)
    c = task.model.config
    B, T = task.batch_size, task.block_size
    cpu = torch.device("cpu")
    from genaug_core import kinds

    gpt2 = kinds.get_kind("gpt2")
    bf16 = resolve_precision("auto", gpt2.bf16_autocast, device="cpu") == "bf16"  # what the loop uses here
    if args.fp32:  # an fp32-only CPU (AVX2, no AVX512_BF16 / AMX): the loop's "auto" precision is fp32 there
        bf16 = False
    print(
        f"\n## Speed: batch {B} x {T}, {c.n_layer} layers, width {c.n_embd}, vocab {c.vocab_size}, "
        f"{torch.get_num_threads()} threads; the loop's default here: "
        f"{'bf16 autocast' if bf16 else 'fp32'}, {task.model.config._attn_implementation} attention, "
        f"{'fused' if build_optimizer(task.model, cfg.train, cpu).defaults['fused'] else 'foreach'} AdamW"
    )

    def ref_loss(model, i):
        x, y = task.batches.get(i)
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))

    def ref_model():
        torch.manual_seed(0)
        return MiniGPT(c.vocab_size, T, c.n_layer, c.n_head, c.n_embd)

    def our_model(attention):
        torch.manual_seed(0)
        model = build_text_model(cfg.model.text, task.tokenizer).train()
        model.set_attn_implementation(attention)
        return model

    def ours(model, optimizer=None, autocast=bf16):
        return step_fn(model, task.loss, optimizer or build_optimizer(model, cfg.train, cpu), autocast)

    REF, OURS = "reference: plain PyTorch minimal GPT, fp32, foreach AdamW", "ours: the loop's default step"
    ref = ref_model()
    variants = {REF: step_fn(ref, ref_loss, reference_optimizer(ref)), OURS: ours(task.model)}
    # where the difference comes from: our default with one choice undone at a time ...
    sdpa = our_model("sdpa")
    variants["ours with SDPA attention"] = ours(sdpa)
    plain = our_model(task.model.config._attn_implementation)
    variants["ours with foreach AdamW (not fused)"] = ours(plain, reference_optimizer(plain))
    variants["ours in fp32"] = ours(our_model(task.model.config._attn_implementation), autocast=False)
    # ... and the same generic tricks given to the reference, for a like-for-like reading
    ref_tuned = ref_model()
    variants["reference with bf16 autocast + fused AdamW"] = step_fn(
        ref_tuned, ref_loss, reference_optimizer(ref_tuned, fused=True), autocast=bf16
    )
    compile_s = None
    if args.compile:
        compiled = torch.compile(our_model(task.model.config._attn_implementation))
        variants["ours + torch.compile"] = ours(compiled)
        t = time.perf_counter()
        for i in range(3):  # compiling happens here (a second call may recompile once)
            variants["ours + torch.compile"](i)
        compile_s = time.perf_counter() - t
        print(f"(torch.compile: first 3 steps {compile_s:.1f}s)")
    in_bf16 = {name for name in variants if bf16 and "fp32" not in name}
    peak_fp32, peak_bf16 = matmul_peak(torch.float32), matmul_peak(torch.bfloat16, sizes=(128, 256, 512, 1024))
    print(f"machine: {describe()}; measured matmul peak fp32 {peak_fp32 / 1e9:.1f}, bf16 {peak_bf16 / 1e9:.1f} GFLOP/s")
    n, rounds = (30, 3) if args.quick else (60, 7)
    results = {k: [] for k in variants}
    for step in variants.values():
        time_steps(step, 0, 5)  # warm up allocators and kernels
    for r in range(rounds):  # interleaved rounds: drifting machine load hits all variants alike
        for name, step in variants.items():
            results[name].append(B * T * n / time_steps(step, 100 + r * n, n))
    n_params = sum(p.numel() for p in ref.parameters())
    fpt = flops_per_token(n_params, c.n_layer, c.n_embd, T)
    per_round = {k: [a / b for a, b in zip(v, results[REF], strict=True)] for k, v in results.items()}
    print(
        f"\n| variant | tokens/s (median of {rounds} rounds) | vs reference (median of per-round ratios) "
        f"| range of per-round ratios | MFU vs fp32 peak {peak_fp32 / 1e9:.0f} GFLOP/s "
        f"| MFU vs its precision's peak (bf16 {peak_bf16 / 1e9:.0f}) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, vals in results.items():
        tps = statistics.median(vals)
        peak = peak_bf16 if name in in_bf16 else peak_fp32
        print(
            f"| {name} | {tps:,.0f} | {statistics.median(per_round[name]):.2f}x "
            f"| {min(per_round[name]):.2f}-{max(per_round[name]):.2f} "
            f"| {tps * fpt / peak_fp32:.0%} | {tps * fpt / peak:.0%} |"
        )
    print(f"({n_params / 1e6:.2f}M parameters, {fpt / 1e6:.1f} MFLOP per token; target: ours >= 1.30x)")
    # a whole run of the default length: the step speed, plus compiling (paid once) for the compiled arm
    from genaug_core.config import TrainConfig

    steps, ref_tps = args.run_steps or TrainConfig().steps, statistics.median(results[REF])
    print(f"\n| over a {steps:,}-step run (compile time included) | tokens/s | vs reference |\n|---|---:|---:|")
    arms = [(OURS, 0.0)] + ([("ours + torch.compile", compile_s)] if compile_s is not None else [])
    for name, once in arms:
        step_s = B * T / statistics.median(results[name])
        extra = max(0.0, once - 3 * step_s) if once else 0.0  # the first 3 steps' time beyond 3 normal steps
        tps = steps * B * T / (extra + steps * step_s)
        print(f"| {name} | {tps:,.0f} | {tps / ref_tps:.2f}x |")
    print(f"| {REF} | {ref_tps:,.0f} | 1.00x |")


# --- time to quality ---------------------------------------------------------------------------------


def reference_curve(task, iters: int, eval_every: int) -> list[tuple[int, float, float]]:
    """Train the minimal GPT `iters` steps with nanoGPT's schedule; (step, wall s, val loss) per eval."""
    from genaug_core.config import TrainConfig
    from genaug_core.train.loop import lr_at

    c = task.model.config
    torch.manual_seed(0)
    ref = MiniGPT(c.vocab_size, task.block_size, c.n_layer, c.n_head, c.n_embd)

    def loss_fn(model, i):
        x, y = task.batches.get(i)
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))

    step = step_fn(ref, loss_fn, reference_optimizer(ref))
    tc = TrainConfig(steps=iters, warmup_steps=100, lr=1e-3)  # nanoGPT's character demo

    @torch.no_grad()
    def val_loss():
        ref.eval()
        total, n = 0.0, 0
        for chunk in task.val.split(task.batch_size):
            logits = ref(chunk[:, :-1])
            total += float(
                F.cross_entropy(logits.reshape(-1, logits.size(-1)), chunk[:, 1:].reshape(-1), reduction="sum")
            )
            n += chunk[:, 1:].numel()
        ref.train()
        return total / n

    opt = step.optimizer
    curve, t0 = [], time.perf_counter()
    for i in range(iters):
        for g in opt.param_groups:
            g["lr"] = lr_at(i, tc)
        step(i)
        if (i + 1) % eval_every == 0 or i + 1 == iters:
            curve.append((i + 1, time.perf_counter() - t0, val_loss()))
    return curve


def bench_quality(args) -> None:
    from genaug_core import runs
    from genaug_core.train.loop import train

    iters = 300 if args.quick else 2000
    for source in args.datasets.split(","):
        eval_every = 50 if args.quick else 250
        cfg = make_run_config(source, iters, eval_every=eval_every)
        task = our_task(cfg)
        curve = reference_curve(task, iters, eval_every)
        target, ref_time = curve[-1][2], curve[-1][1]
        print(
            f"\n## Time to quality on {source}: reference after {iters} iterations: val loss {target:.4f} in {ref_time:.1f}s"
        )
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = {"mixed_precision": "no"} if args.fp32 else {}
            ours_cfg = make_run_config(source, iters, eval_every=eval_every, compile=args.compile, **fp32)
            run = runs.create_run(ours_cfg, run_dir=Path(tmp) / "run")
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the loop's log lines; log.txt keeps them
                train(ours_cfg, run, progress=False)
            wall = time.perf_counter() - t0
            vals = runs.read_metrics(run, "val")
        hit = next((r for r in vals if r["step"] > 0 and r["loss"] <= target), None)
        print("| path | steps | val loss at end | seconds to reach reference's final loss | ratio |")
        print("|---|---:|---:|---:|---:|")
        print(f"| reference | {iters} | {target:.4f} | {ref_time:.1f} | 1.00 |")
        if hit:
            print(
                f"| ours (default preset) | {vals[-1]['step']} | {vals[-1]['loss']:.4f} | {hit['time']:.1f} (step {hit['step']}) | {hit['time'] / ref_time:.2f} |"
            )
        else:
            print(f"| ours (default preset) | {vals[-1]['step']} | {vals[-1]['loss']:.4f} | not reached | - |")
        print(f"(our whole run incl. data, model build, evals and saving: {wall:.1f}s)")
        print("reference curve:", ", ".join(f"{s}:{v:.3f}@{t:.0f}s" for s, t, v in curve))
        print("our curve:      ", ", ".join(f"{r['step']}:{r['loss']:.3f}@{r['time']:.0f}s" for r in vals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer steps: a smoke run in about a minute")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (15-30 s to compile)")
    parser.add_argument("--datasets", default="names,prose", help="built-in text datasets for time to quality")
    parser.add_argument("--fp32", action="store_true",
                        help="run our step in fp32, as the loop does on a CPU without fast bf16 (emulates one here)")
    parser.add_argument("--run-steps", type=int, default=0,
                        help="run length for the whole-run row, compile included (0 = train.steps' default)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    )
    if not args.skip_speed:
        bench_speed(args)
    if not args.skip_quality:
        bench_quality(args)


if __name__ == "__main__":
    main()
