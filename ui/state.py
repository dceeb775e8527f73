"""The session_state keys every page shares, in one place.

State that several pages share goes through these names, so a page never
guesses another page's key and a rename happens here once. A page's own
widgets use explicit keys named after the page ("train.steps", "sample.n"),
which no other page reads.
"""

DATASET = "genaug.dataset"  # the current TextDataset / ImageDataset, after preprocessing
DATASET_LABEL = "genaug.dataset_label"  # one line describing it: "digits (1,797 images, 8x8x1)"
DATASET_SPEC = "genaug.dataset_spec"  # how it was loaded: {"source": ..., "params": {...}}
PIPELINE = "genaug.pipeline"  # the current augmentation pipeline as a JSON-ready dict
ACTIVE_RUN = "genaug.active_run"  # id of the run the user last started or picked
COMPARE_GROUP = "genaug.compare_group"  # id of the ablation group the user last launched (Compare page)
