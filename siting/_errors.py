"""Exception hierarchy: every error a user can cause is a :class:`SitingError`.

Each subclass also inherits the matching builtin, so ``except ValueError`` keeps
working for callers who do not know about ``siting``.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "ConfigError",
    "DataSourceError",
    "InputDataError",
    "OutputError",
    "SitingError",
]


class SitingError(Exception):
    """Root of every error raised on purpose by ``siting``."""


class DataSourceError(SitingError, OSError):
    """An input file is missing, unreadable, or not the format it claims to be."""


class InputDataError(SitingError, ValueError):
    """Input data are readable but unusable (empty layer, missing column, bad geometry)."""


class CRSError(SitingError, ValueError):
    """A layer has no CRS, a geographic CRS where metres are needed, or a mismatched CRS."""


class ConfigError(SitingError, ValueError):
    """A rulebook or option value is invalid."""


class OutputError(SitingError, OSError):
    """The output folder cannot be created or written."""
