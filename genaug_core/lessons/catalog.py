"""The registered lessons: five published effects, each with its runs, sizes and claim as data.

    text-augmentation   character edits on 300 names (Xie et al. 2017), synonym edits on prose (EDA)
    image-augmentation  none vs plain (leaking) vs non-leaking augmentation of 300 digits (Karras et al.)
    l1-l2               L2 penalty and NEFTune sweeps on 300 names, beside early stopping
    collapse            self-training on names: replace vs accumulate (Shumailov; Gerstgrasser)
    temperature         self-training on names: sampling temperature 0.6 vs 1.0 (Alemohammad et al.)

Each claim was written from the publication before any lesson ran; the numbers decide. Full sizes
are chosen so that every lesson's runs at 3 seeds finish in about 10 minutes on 2 CPU cores (two
runs at a time through the job runner); quick sizes take seconds and check the plumbing only.
`get_lesson` and `list_lessons` are the lookups the runner, the CLI and the page use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genaug_core.config import RunConfig
from genaug_core.lessons.spec import LESSONS, Compare, Derived, InteriorOptimum, Lesson, Setting, Sizes, lesson

CONFIGS_DIR = Path(__file__).resolve().parents[2] / "configs"

# --- pipelines, written out (the library defaults may change; a lesson's arms must not) ------------

# the non-leaking default image pipeline (augment.pipeline.default_pipeline("image")), written out so the
# lesson's arms stay fixed when the library default changes: small rotation and scale, a 1-pixel shift,
# brightness/contrast and gamma; every step has a describing vector, and digits are never mirrored
IMAGE_PIPELINE: dict[str, Any] = {"kind": "image", "seed": 0, "steps": [
    {"augmenter": "affine", "p": 0.5, "params": {"scale": [0.9, 1.1], "translate": [0.0, 0.0], "rotate": [-10.0, 10.0],
                                                 "shear": [0.0, 0.0], "interpolation": "linear", "border": "constant"}},
    {"augmenter": "pad_and_crop", "p": 0.5, "params": {"pad": 1, "border": "constant"}},
    {"augmenter": "brightness_contrast", "p": 0.5, "params": {"brightness": [-0.2, 0.2], "contrast": [-0.2, 0.2]}},
    {"augmenter": "gamma", "p": 0.3, "params": {"gamma": [80.0, 120.0]}},
]}  # fmt: skip
IMAGE_P = 0.15  # share of training images augmented: EDM augments with probability ~0.12-0.15

# character edits that keep a name's own alphabet: exact insert / delete / substitute / swap, and nlpaug's swaps
CHAR_EDITS: dict[str, Any] = {"kind": "text", "seed": 0, "steps": [
    {"augmenter": "char_edit", "p": 1.0, "params": {"op": "any", "rate": 0.1, "alphabet": "text"}},
    {"augmenter": "char_swap", "p": 0.3, "params": {"aug_char_p": 0.3, "aug_word_p": 1.0, "min_char": 4,
                                                    "swap_mode": "adjacent"}},
]}  # fmt: skip

# EDA's synonym replacement (offline WordNet)
SYNONYMS: dict[str, Any] = {"kind": "text", "seed": 0, "steps": [
    {"augmenter": "synonym", "p": 1.0, "params": {"aug_p": 0.2, "aug_max": 10}},
]}  # fmt: skip

# prose sentences of up to 120 characters (878 of the 1,379): scoring a sample against 300 long
# training sentences by edit distance is the slowest part of a prose run, so shorter items keep it quick
PROSE = {"source": "prose", "params": {"unit": "sentence", "max_chars": 120}}


def _names_gpt2() -> RunConfig:
    """The small character-level GPT-2 on names (configs/names_gpt2.toml's model), shaped for short runs."""
    return RunConfig.from_dict({
        "data": {"source": "names", "val_fraction": 0.1},
        "model": {"text": {"preset": "small", "block_size": 32}},
        "train": {"batch_size": 32, "lr": 2e-3, "warmup_steps": 50, "eval_batches": 10, "log_every": 50,
                  "num_samples": 8, "checkpoint_every": 0, "seed": 1337},
    })  # fmt: skip


QUICK_TEXT = {"model": {"text": {"preset": "tiny"}}, "train": {"batch_size": 8, "warmup_steps": 2, "eval_batches": 2,
                                                               "num_samples": 0}}  # fmt: skip


# --- text augmentation -----------------------------------------------------------------------------


@lesson(
    "text-augmentation",
    title="Text augmentation: character edits on 300 names, synonyms on prose",
    published=(
        "Noising the inputs of a neural language model (replacing tokens at random while training) acts as "
        "smoothing and lowers held-out perplexity, most where data is scarce. EDA's simple word edits (synonym "
        "replacement, random insertion, swap and deletion) improved text classifiers most on small training "
        "sets. Here: a character-level GPT-2 trained on only 300 names, with and without character edits; and "
        "the same model on 300 prose sentences with and without synonym replacement."
    ),
    reference=(
        "Xie et al., Data Noising as Smoothing in Neural Network Language Models, ICLR 2017; "
        "Wei & Zou, EDA: Easy Data Augmentation Techniques for Boosting Performance on Text Classification "
        "Tasks, EMNLP 2019"
    ),
    claim_text=(
        "On 300 names, character edits lower the held-out bits per character (val_bpc) and the share of samples "
        "that copy a training name (memorised_share) below no augmentation. The prose arms are reported, not "
        "claimed: EDA measured classifiers, not generators."
    ),
    settings=(
        Setting("names: none", {}, "no augmentation"),
        Setting("names: char edits", {"augment": {"pipeline": CHAR_EDITS, "p": 0.5}},
                "half the names drawn are edited: 10% of characters inserted, deleted, substituted or swapped"),
        Setting("prose: none", {"data": PROSE}, "300 prose sentences (up to 120 characters), no augmentation"),
        Setting("prose: synonyms", {"data": PROSE, "augment": {"pipeline": SYNONYMS, "p": 0.5}},
                "half the sentences drawn have 20% of their words replaced by WordNet synonyms"),
    ),
    claim=(
        Compare("val_bpc", "lower", a="names: char edits", b="names: none"),
        Compare("memorised_share", "lower", a="names: char edits", b="names: none"),
    ),
    metrics=("val_bpc", "memorised_share", "novelty", "distinct_2", "best_val_bpc"),
    full=Sizes(steps=1000, max_train_items=300, eval_samples=256, eval_every=100),
    quick=Sizes(steps=12, max_train_items=300, eval_samples=16, eval_every=6, overrides=QUICK_TEXT),
    notes="Every run is scored on the same held-out real items (the validation part is never reduced).",
)
def text_augmentation() -> RunConfig:
    return _names_gpt2()


# --- image augmentation ------------------------------------------------------------------------------


@lesson(
    "image-augmentation",
    title="Image augmentation: none vs plain (leaking) vs non-leaking (300 digits by default)",
    published=(
        "With little data, a generative model overfits; augmenting its training images helps, but plainly "
        "augmented training data teaches the model to draw augmented images: the augmentations leak into the "
        "samples. Augmentations the model can tell apart from real data (ADA's non-leaking augmentation for "
        "GANs; EDM's augmentation conditioning for diffusion models) regularise without leaking and improved "
        "FID on small datasets. Here: a small DDPM on 300 digits (or shapes) with no augmentation, and with the same "
        "augmentation (small rotations, scaling, 1-pixel shifts, brightness and contrast, 15% of the images) plainly "
        "or non-leaking."
    ),
    reference=(
        "Karras et al., Training Generative Adversarial Networks with Limited Data, NeurIPS 2020; "
        "Karras et al., Elucidating the Design Space of Diffusion-Based Generative Models, NeurIPS 2022"
    ),
    claim_text=(
        "Non-leaking augmentation gives a lower Fréchet distance to the held-out images (fd) and a higher recall "
        "than no augmentation, and plain augmentation has the worst fd of the three."
    ),
    settings=(
        Setting("none", {"augment": {"pipeline": {}, "p": 0.0}}, "no augmentation"),
        Setting("plain", {"augment": {"non_leaking": False, "pipeline": IMAGE_PIPELINE, "p": IMAGE_P}},
                "15% of the images drawn are augmented; the model is not told what was done (leaking)"),
        Setting("non-leaking", {"augment": {"non_leaking": True, "pipeline": IMAGE_PIPELINE, "p": IMAGE_P}},
                "the same augmentation, and the model is told what was done: sampled with \"none\" (augment.non_leaking)"),
    ),
    claim=(
        Compare("fd", "lower", a="non-leaking", b="none"),
        Compare("recall", "higher", a="non-leaking", b="none"),
        Compare("fd", "higher", a="plain", b="none"),
        Compare("fd", "higher", a="plain", b="non-leaking"),
    ),
    metrics=("fd", "kid", "precision", "recall", "val_loss", "memorised_share_pixel"),
    full=Sizes(steps=600, max_train_items=300, eval_samples=256, eval_every=100),
    quick=Sizes(steps=4, max_train_items=300, eval_samples=16, eval_every=2, overrides={
        "model": {"image": {"preset": "tiny", "num_train_timesteps": 100, "sample_steps": 2}},
        "train": {"batch_size": 8, "warmup_steps": 1, "eval_batches": 1, "num_samples": 0},
    }),  # fmt: skip
    datasets={"digits": {"source": "digits"}, "shapes": {"source": "shapes", "params": {"n": 1200, "size": 16}}},
    notes=("FD, recall and precision are measured in a feature space learnt from the real training images "
           "(genaug_core.metrics), so they compare runs on one dataset, not across datasets."),
)
def image_augmentation() -> RunConfig:
    base = RunConfig.load(CONFIGS_DIR / "digits_ddpm.toml")
    # the verdicts in the README were measured with epsilon prediction (the digits preset's before v-prediction)
    image = base.model.image.replace(prediction_type="epsilon")
    return base.replace(name="", model=base.model.replace(image=image),
                        train=base.train.replace(num_samples=20, checkpoint_every=0, eval_batches=10))


# --- L1/L2 regularisation ------------------------------------------------------------------------------

L2_SWEEP = ("L2 λ=0.001", "L2 λ=0.01", "L2 λ=0.1", "L2 λ=1")
NOISE_SWEEP = ("NEFTune α=5", "NEFTune α=15", "NEFTune α=50")


def _l2(lam: float) -> Setting:
    return Setting(f"L2 λ={lam:g}", {"regularization": {"penalty": "l2", "penalty_lambda": lam}},
                   f"adds {lam:g}·Σw² over the weight matrices to the loss")


def _neftune(alpha: float) -> Setting:
    return Setting(f"NEFTune α={alpha:g}",
                   {"regularization": {"noise_eps": alpha, "noise_norm": "linf", "neftune": True}},
                   f"uniform noise of radius {alpha:g}/√(context·width) on every token embedding while training")


@lesson(
    "l1-l2",
    title="L2 penalty and embedding noise: an interior optimum, and early stopping",
    published=(
        "A weight penalty (L2, weight decay) and noise on the inputs both regularise: too little and a big model "
        "memorises a small training set, too much and it cannot fit at all, so held-out loss is best at an "
        "interior strength. Training with input noise is equivalent to a Tikhonov (L2-type) penalty, and NEFTune's "
        "noisy token embeddings improved instruction tuning. For a quadratic model, early stopping is equivalent "
        "to an L2 penalty, so a regulariser worth using has to beat the unregularised run stopped at its best step."
    ),
    reference=(
        "Krogh & Hertz, A Simple Weight Decay Can Improve Generalization, NIPS 1991; Bishop, Training with Noise "
        "is Equivalent to Tikhonov Regularization, Neural Computation 1995; Goodfellow, Bengio & Courville, Deep "
        "Learning, 2016, sections 7.1 and 7.8; Jain et al., NEFTune: Noisy Embeddings Improve Instruction "
        "Finetuning, ICLR 2024"
    ),
    claim_text=(
        "On 300 names, the final held-out loss (val_loss) has an interior optimum in the L2 strength λ (some λ "
        "between 0 and 1 beats both λ = 0 and λ = 1) and in the NEFTune noise α (some α beats both α = 0 and "
        "α = 50); and the best regularised setting also beats the unregularised run stopped early at its best "
        "validation record."
    ),
    settings=(
        Setting("none", {}, "no penalty, no noise (the λ = 0 and α = 0 end of both sweeps)"),
        *(_l2(lam) for lam in (1e-3, 1e-2, 1e-1, 1.0)),
        *(_neftune(a) for a in (5.0, 15.0, 50.0)),
    ),
    derived=(
        Derived("none (early stopped)", of="none", metrics={"val_loss": "best_val_loss", "val_bpc": "best_val_bpc"},
                help="the unregularised run's lowest validation record during training (its early-stopping point)"),
    ),
    claim=(
        InteriorOptimum("val_loss", "lower", sweep=("none", *L2_SWEEP)),
        InteriorOptimum("val_loss", "lower", sweep=("none", *NOISE_SWEEP)),
        Compare("val_loss", "lower", a=(*L2_SWEEP, *NOISE_SWEEP), b="none (early stopped)",
                a_label="the best regularised setting"),
    ),
    metrics=("val_loss", "val_bpc", "memorised_share", "best_val_loss", "best_val_step"),
    full=Sizes(steps=600, max_train_items=300, eval_samples=256, eval_every=25),
    quick=Sizes(steps=12, max_train_items=300, eval_samples=16, eval_every=4, overrides=QUICK_TEXT),
    notes=("The early-stopped value is the minimum of the validation records, chosen on the same held-out data "
           "it is reported on: a slightly optimistic number, which makes that comparison harder to win."),
)
def l1_l2() -> RunConfig:
    return _names_gpt2()


# --- self-training ---------------------------------------------------------------------------------------

def _names_replace() -> RunConfig:
    """The Self-training page's names preset in replace mode; the settings change what its siblings change."""
    return RunConfig.load(CONFIGS_DIR / "selftrain_names_replace.toml").replace(name="")


SELFTRAIN_FULL = Sizes(steps=300, max_train_items=0, eval_samples=0, rounds=4, synthetic_per_round=1000)
SELFTRAIN_QUICK = Sizes(steps=10, max_train_items=300, eval_samples=0, rounds=2, synthetic_per_round=32, overrides={
    **QUICK_TEXT, "self_train": {"max_length": 40},  # a 10-step model writes long names: keep some for round 2
})  # fmt: skip


@lesson(
    "collapse",
    title="Model collapse: self-training on names, replace vs accumulate",
    published=(
        "A model trained on the previous model's samples, generation after generation, forgets the tails of the "
        "real distribution: held-out loss rises and diversity falls (model collapse). When every generation keeps "
        "the real data and adds the synthetic data to it (accumulate), the error stays bounded near the first "
        "generation. Here: the Self-training page's names presets, replace vs accumulate, with fewer rounds."
    ),
    reference=(
        "Shumailov et al., AI models collapse when trained on recursively generated data, Nature 2024; "
        "Gerstgrasser et al., Is Model Collapse Inevitable? Breaking the Curse of Recursion by Accumulating Real "
        "and Synthetic Data, 2024"
    ),
    claim_text=(
        "In replace mode the held-out bits per character rise from round 1 to the last round "
        "(val_bpc_change > 0), and they rise more than in accumulate mode."
    ),
    settings=(
        Setting("replace", {}, "round k trains only on round k-1's filtered samples (selftrain_names_replace.toml)"),
        Setting("accumulate", {"self_train": {"mode": "accumulate"}},
                "round k trains on the real names plus every earlier round's samples (selftrain_names_accumulate.toml)"),
    ),
    claim=(
        Compare("val_bpc_change", "higher", a="replace", b=0.0),
        Compare("val_bpc_change", "higher", a="replace", b="accumulate"),
    ),
    metrics=("val_bpc_round1", "val_bpc_last", "val_bpc_change", "distinct_4_change", "unique_share_last"),
    full=SELFTRAIN_FULL,
    quick=SELFTRAIN_QUICK,
    notes="The _change metrics are the last round's value minus round 1's, per run; the presets run 5 rounds of 400 steps.",
)
def collapse() -> RunConfig:
    return _names_replace()


@lesson(
    "temperature",
    title="Sampling temperature in self-training: 0.6 vs 1.0 on names",
    published=(
        "Sampling a generative model with a bias towards its likeliest outputs (a low temperature, cherry-picking) "
        "makes each generation's samples safer but less varied, so a self-consuming loop loses diversity faster "
        "than with unbiased sampling. Here: the Self-training page's temperature preset, replace mode at "
        "temperature 0.6 vs 1.0, with fewer rounds."
    ),
    reference=(
        "Alemohammad et al., Self-Consuming Generative Models Go MAD, ICLR 2024; "
        "Shumailov et al., AI models collapse when trained on recursively generated data, Nature 2024"
    ),
    claim_text=(
        "At temperature 0.6 the samples' diversity falls more from round 1 to the last round than at 1.0, "
        "both in distinct 4-grams (distinct_4_change) and in the share of unique samples (unique_share_change)."
    ),
    settings=(
        Setting("temperature 0.6", {"self_train": {"temperature": 0.6}},
                "replace mode, samples drawn at temperature 0.6 (selftrain_names_lowtemp.toml)"),
        Setting("temperature 1.0", {}, "replace mode, samples drawn at temperature 1.0 (selftrain_names_replace.toml)"),
    ),
    claim=(
        Compare("distinct_4_change", "lower", a="temperature 0.6", b="temperature 1.0"),
        Compare("unique_share_change", "lower", a="temperature 0.6", b="temperature 1.0"),
    ),
    metrics=("distinct_4_round1", "distinct_4_last", "distinct_4_change", "unique_share_change", "val_bpc_change"),
    full=SELFTRAIN_FULL,
    quick=SELFTRAIN_QUICK,
    notes="Diversity is measured on each round's raw samples, before the filters drop duplicates and copies.",
)
def temperature() -> RunConfig:
    return _names_replace()


# --- lookups ----------------------------------------------------------------------------------------------


def get_lesson(lesson_id: str) -> Lesson:
    """The lesson called `lesson_id`; an unknown id raises RegistryError listing the known ones."""
    return LESSONS.get(lesson_id)


def list_lessons() -> list[Lesson]:
    """Every lesson, in registration order."""
    return [entry for _, entry in LESSONS.items()]
