"""The filled augmenter registry: importing this module registers every entry.

registry.py holds the registry itself (the dict, the decorator, the spec class)
and imports no entry module; image.py and text.py import it to register their
entries; this module imports both. So the imports run one way only,

    registry  <-  image, text  <-  catalog  <-  pipeline, the Augment page

and anything that needs the whole list (a pipeline checking a step's name, the
page's picker, the tests) asks here. Importing it is cheap: the entry modules
import albumentations and nlpaug only inside their builders.
"""

from __future__ import annotations

from genaug_core.augment import image, text  # noqa: F401 - importing them registers their entries
from genaug_core.augment.registry import AUGMENTERS, AugmenterSpec

__all__ = ["get_augmenter", "list_augmenters"]


def get_augmenter(name: str) -> AugmenterSpec:
    """The entry called `name`; an unknown name raises RegistryError listing the known ones."""
    return AUGMENTERS.get(name)


def list_augmenters(kind: str | None = None) -> list[AugmenterSpec]:
    """All entries (of one kind), in registration order."""
    return [spec for _, spec in AUGMENTERS.items() if kind is None or spec.kind == kind]
