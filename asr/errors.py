"""Exceptions a user can cause. Each message names the file, line or field at fault."""

__all__ = ["ASRError", "AudioError", "ConfigError", "ManifestError", "ModelError", "TokenizerError"]


class ASRError(ValueError):
    """Base class: bad input from the user (caught by the CLI and printed as one line)."""


class AudioError(ASRError):
    """An audio file or array that cannot be used (missing, not audio, empty, non-finite)."""


class ManifestError(ASRError):
    """A malformed manifest line; the message names the file and line number."""


class TokenizerError(ASRError):
    """Text that the tokenizer cannot encode (characters outside its vocabulary)."""


class ConfigError(ASRError):
    """A bad configuration file or ``key=value`` override."""


class ModelError(ASRError):
    """A model directory that is missing or incomplete."""
