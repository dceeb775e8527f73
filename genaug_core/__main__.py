"""Entry point for `python -m genaug_core` and `accelerate launch -m genaug_core`."""

import sys

from genaug_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
