"""The exceptions GenAug raises on purpose.

Every error a user can cause (a bad file, a bad setting, a broken run folder)
is a GenAugError whose message names the input, the problem and, where it
helps, the allowed values. The app shows the message with st.error and the
CLI prints `error: <message>` and exits 2; neither shows a traceback.
"""


class GenAugError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""


class ConfigError(GenAugError, ValueError):
    """A setting is missing, of the wrong type or outside its allowed range."""


class DataError(GenAugError):
    """A data file or dataset cannot be used (wrong format, too large, empty)."""

    def __init__(self, message: str, source: str | None = None):
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class RegistryError(GenAugError, KeyError):
    """An unknown name was asked of a registry (dataset, augmenter, model)."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class RunError(GenAugError):
    """A run folder is missing, broken or in a state that forbids the action."""
