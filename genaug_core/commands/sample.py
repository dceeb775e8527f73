"""`python -m genaug_core sample`: draw samples from a trained run.

    python -m genaug_core sample --run-dir runs/<id> -n 20 --temperature 0.8 --top-k 10
    python -m genaug_core sample --run-dir runs/<id> -n 64 --steps 25 --sampler dpm --out digits.png
    python -m genaug_core sample --run-dir runs/<id> -n 16 --class-id 7 --out sevens/   # a folder of PNGs
    python -m genaug_core sample --run-dir runs/<id> -n 16 --class-id 7 --guidance-scale 2 --out sevens.png

Text samples go to stdout (or --out FILE, one a line); images to --out as one
PNG grid, or into a folder as one PNG each plus grid.png. The final model is
used unless --checkpoint names a step (or "latest").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=Path, required=True, help="the run folder")
    parser.add_argument("-n", "--num", type=int, default=16, help="number of samples (default 16)")
    parser.add_argument("--out", type=Path, help="text: a file; images: a .png grid or a folder (default samples.png)")
    parser.add_argument("--checkpoint", help="a checkpoint step, 'latest' or 'final' (default: final, else latest)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    text = parser.add_argument_group("text")
    text.add_argument("--prompt", default="", help="start every sample with this text")
    text.add_argument("--max-new-tokens", type=int, help="longest sample in tokens (default: twice the context)")
    text.add_argument("--temperature", type=float, default=1.0, help="0 = greedy, <1 safer, >1 wilder")
    text.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest tokens (0 = all)")
    text.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1 = off)")
    image = parser.add_argument_group("images")
    image.add_argument("--steps", type=int, help="sampler steps (default: the run's, 25)")
    image.add_argument("--sampler", choices=["ddim", "dpm"], help="DDIM or DPM-Solver++ (default: the run's)")
    image.add_argument("--class-id", help="a class index or name (default: no class)")
    image.add_argument("--guidance-scale", type=float,
                       help="classifier-free guidance of class-conditional samples, 1 = off (default: the run's)")
    image.add_argument("--scale", type=int, default=0, help="enlarge PNGs this many times (0 = to about 32 px)")


def run(args: argparse.Namespace) -> int:
    from genaug_core import runs
    from genaug_core.errors import ConfigError
    from genaug_core.kinds import load_run_model

    if args.num < 1 or args.num > 10_000:
        raise ConfigError(f"-n {args.num} is out of range; allowed: 1 to 10000")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    loaded = load_run_model(args.run_dir, args.checkpoint)
    if loaded.kind == "text":
        opts = {"prompt": args.prompt, "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p}
        if args.max_new_tokens:
            opts["max_new_tokens"] = args.max_new_tokens
        samples = loaded.sample(args.num, seed=args.seed, progress=sys.stderr.isatty(), **opts)
        lines = [args.prompt + s for s in samples]
        if args.out:
            args.out.write_text("".join(line.replace("\n", "\\n") + "\n" for line in lines), encoding="utf-8")
            print(f"wrote {len(lines)} samples to {args.out}")
        else:
            for line in lines:
                print(line)
        return 0

    opts = {"class_ids": _class_id(args.class_id, loaded.meta.get("class_names") or [])}
    if args.steps:
        opts["steps"] = args.steps
    if args.sampler:
        opts["sampler"] = args.sampler
    if args.guidance_scale is not None:  # checked by the model kind's sampler (range, conditional model)
        opts["guidance_scale"] = args.guidance_scale
    images = loaded.sample(args.num, seed=args.seed, progress=sys.stderr.isatty(), **opts)  # (n, H, W, C)
    scale = args.scale or max(1, 32 // images.shape[1])
    out = args.out or Path("samples.png")
    if out.suffix.lower() == ".png":
        loaded.model_kind.write_samples(out, images, scale=scale)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            runs.write_png(out / f"sample-{i:04d}.png", img, scale)
        loaded.model_kind.write_samples(out / "grid", images, scale=scale)
    print(f"wrote {len(images)} images to {out}")
    return 0


def _class_id(value: str | None, class_names: list[str]) -> int | None:
    from genaug_core.errors import ConfigError

    if value is None:
        return None
    if value in class_names:
        return class_names.index(value)
    if value.lstrip("-").isdigit():
        return int(value)
    known = ", ".join(class_names) or "(the model has no classes)"
    raise ConfigError(f"--class-id {value!r} is neither a class index nor a class name; classes: {known}")
