"""Augmentation: the augmenter registry, image and text augmenters, L1/L2-ball noise."""
