"""Errors a user can cause. Each message says what is wrong and what to do about it.

The CLI prints these without a traceback; the service turns them into 4xx responses.
"""

from __future__ import annotations

from pathlib import Path


class PrismrecError(Exception):
    """Base class of every error caused by input, configuration or usage.

    Attributes:
        field: the request field, option or column the error is about, when there is one (the service
            names it in its 4xx answer).
    """

    field: str | None = None


class DataError(PrismrecError):
    """A data file is missing, empty, malformed or inconsistent.

    Args:
        message: what is wrong and what to do.
        path: the file, if one is involved.
        line: 1-based line number in that file (header = line 1), if known.
        field: the column or JSON field, if known.
    """

    def __init__(
        self, message: str, path: str | Path | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        where = ""
        if self.path is not None:
            where = self.path
            if line is not None:
                where += f", line {line}"
            if field is not None:
                where += f", field '{field}'"
            where += ": "
        elif field is not None:
            where = f"field '{field}': "
        super().__init__(where + message)


class ConfigError(PrismrecError):
    """A configuration value or command-line parameter is invalid."""


class RequestError(PrismrecError):
    """A request (from the CLI, the service or a library call) asks for something impossible.

    Args:
        message: what is wrong and what to do.
        field: the request field at fault, e.g. "k" or "item_ids".
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class FormatError(PrismrecError):
    """A saved model folder was written by another format version (refit it)."""


class NotFittedError(PrismrecError):
    """A model was asked to score before `fit` was called."""


class UnknownIdError(PrismrecError):
    """An external user or item id is not known to the fitted model.

    Args:
        message: which id, and where it came from.
        field: the request field that held it, e.g. "user_id".
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)
