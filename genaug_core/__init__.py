"""GenAug Studio core: data, augmentation, training and metrics, without any UI.

Importing this package is cheap on purpose: torch, transformers, diffusers,
albumentations and nlpaug are imported inside the functions that need them, so
the Streamlit home page and `python -m genaug_core check` start fast.

Importing it also sets three process-wide defaults, each only when the user has
not set the variable already:

- HF_HUB_OFFLINE=1: nothing is ever downloaded from a model hub at run time.
  A user who wants to load a hub model by id sets HF_HUB_OFFLINE=0.
- NO_ALBUMENTATIONS_UPDATE=1: albumentations otherwise asks the package
  registry for a newer version on every import.
- OMP_WAIT_POLICY=PASSIVE: two torch processes whose OpenMP threads spin at
  every sync point slow each other down 60-70x on small machines (the app
  sampling while a training child runs). It must be set before torch loads.
"""

import os

for _name, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("NO_ALBUMENTATIONS_UPDATE", "1"),
    ("OMP_WAIT_POLICY", "PASSIVE"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
