"""Errors raised by the stores: every one carries a one-line message naming the store and key."""

from __future__ import annotations


class StoreError(Exception):
    """A store cannot be opened, reached or written, or an object in it is unusable."""


class StoreConflict(StoreError):
    """A key already holds different content; the stored object is left as it was."""


class StoreMissing(StoreError):
    """A key is not in the store."""


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line, for wrapping into a ``StoreError``."""
    return " ".join(str(exc).split()) or type(exc).__name__
