"""`python -m genaug_core COMMAND ...`: the command line over the same core as the app.

Each command lives in its own module under genaug_core/commands/ with two
functions: `add_parser(subparsers)` and `run(args) -> int`. Commands are
imported only when chosen, so `check` never pays for torch.

Errors the user can fix (GenAugError) print one line, `error: <message>`, on
stderr and exit with status 2; there is never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import genaug_core  # noqa: F401  (sets the offline and thread defaults first)
from genaug_core.errors import GenAugError

# command name -> (module, one-line help); the order is the order in --help
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("genaug_core.commands.check", "load data files and print a sanity report"),
    "augment": ("genaug_core.commands.augment", "write K augmented copies of a dataset with a saved pipeline"),
    "train": ("genaug_core.commands.train", "train a text or image model into a run folder"),
    "sample": ("genaug_core.commands.sample", "draw samples from a trained run"),
    "evaluate": ("genaug_core.commands.evaluate", "score a run's samples against held-out real data"),
    "lesson": ("genaug_core.commands.lesson", "list the lessons, or run one and print its measured verdict"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m genaug_core",
        description="GenAug Studio: data augmentation for small generative models.",
    )
    parser.add_argument("--version", action="version", version=f"genaug_core {genaug_core.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        if wanted == name:  # import only the chosen command's module
            importlib.import_module(module).add_parser(sub.add_parser(name, help=help_text, description=help_text))
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except GenAugError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
