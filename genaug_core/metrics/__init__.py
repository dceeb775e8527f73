"""Offline metrics for generated text and images: quality, diversity, memorisation.

    from genaug_core.metrics import evaluate_text, evaluate_images
    evaluate_text(samples, train_texts, val_texts)            # -> flat dict of floats
    evaluate_images(samples, train_images, val_images,
                    train_labels=..., val_labels=..., class_names=...)

Each returns one flat, JSON-ready dict of headline numbers for a run folder;
`score_text` / `score_images` return the same dict plus per-sample details (the
nearest training item of each sample) for a memorisation panel. No metric needs
downloaded weights: image features come from a small network trained on the
real training images (genaug_core.metrics.features, imported only when images
are scored, since it pulls in torch).
"""

from genaug_core.metrics.image import (
    ImageScores,
    density_coverage,
    evaluate_images,
    frechet_distance,
    kid,
    manifold_metrics,
    nearest_training_images,
    precision_recall,
    score_images,
)
from genaug_core.metrics.text import (
    TextScores,
    bits_per_char,
    distinct_n,
    evaluate_text,
    nearest_training_texts,
    novelty,
    score_text,
    self_bleu,
)

__all__ = [
    "ImageScores",
    "TextScores",
    "bits_per_char",
    "density_coverage",
    "distinct_n",
    "evaluate_images",
    "evaluate_text",
    "frechet_distance",
    "kid",
    "manifold_metrics",
    "nearest_training_images",
    "nearest_training_texts",
    "novelty",
    "precision_recall",
    "score_images",
    "score_text",
    "self_bleu",
]
