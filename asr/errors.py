"""Exceptions a user can cause, and the checks of options that raise them. Each message names the file,
line or field at fault."""

import math
import numbers

__all__ = [
    "ASRError",
    "AudioError",
    "ConfigError",
    "ManifestError",
    "ModelError",
    "TokenizerError",
    "check_count",
    "check_finite",
    "is_real",
]


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


def is_real(value) -> bool:
    """Whether ``value`` is a real number (Python's or NumPy's), a bool not counting as one."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_count(value, name: str, minimum: int = 1, error: type[ASRError] = ASRError) -> int:
    """``value`` when it is a whole number of at least ``minimum`` (not a bool), else ``error`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise error(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def check_finite(value, name: str, error: type[ASRError] = ASRError) -> float:
    """``value`` as a float when it is a finite real number (not a bool), else ``error`` naming ``name``."""
    if not is_real(value) or not math.isfinite(value):
        raise error(f"{name} must be a finite number, got {value!r}")
    return float(value)
