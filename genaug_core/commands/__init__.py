"""One module per CLI command: `add_parser(parser)` and `run(args) -> int` (see cli.py)."""
