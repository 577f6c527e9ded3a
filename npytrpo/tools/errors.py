"""The ``npytrpo`` command's user error: one line on stderr, exit code 2."""

from __future__ import annotations

__all__ = ["CLIError"]


class CLIError(Exception):
    """A user error: printed as one line on stderr, exit code 2 (never a traceback)."""
