"""GenAug Studio core: data, augmentation, training and metrics, without any UI.

Importing this package is cheap on purpose: torch, transformers, diffusers,
albumentations and nlpaug are imported inside the functions that need them, so
the Streamlit home page and `python -m genaug_core check` start fast.

Importing it also sets these process-wide defaults, each only when the user has
not set the variable already:

- HF_HUB_OFFLINE=1: nothing is ever downloaded from a model hub at run time.
  A user who wants to load a hub model by id sets HF_HUB_OFFLINE=0.
- NO_ALBUMENTATIONS_UPDATE=1: albumentations otherwise asks the package
  registry for a newer version on every import.
- TOKENIZERS_PARALLELISM=false: no tokenizer thread pool (and no warning
  about it) in processes that fork.
- OMP_WAIT_POLICY=PASSIVE, only inside the Streamlit app (streamlit already
  imported): the app samples and scores next to its training children, and
  torch threads that spin at every sync point while another process holds
  the cores slow both down many times over. It must be set before torch loads.
  Everywhere else (a training child, the CLI, a benchmark) OpenMP's default
  stays: threads that spin a while make a run alone about twice as fast
  here, and a training process shares the cores by itself (train/cores.py).
"""

import os
import sys

for _name, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("NO_ALBUMENTATIONS_UPDATE", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_name, _value)
if "streamlit" in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
