"""The errors a user can cause, each with a one-line message naming the input at fault.

Every one is a :class:`ScrubwatchError`; the CLI prints exactly these as one line and
exits with status 2. Any other exception is a bug and keeps its traceback.

- :class:`BadInput`: a value, file or URL that cannot be used (also a ``ValueError``).
  :class:`InvalidName` is a crawl id, worker id or store key that is not allowed.
- :class:`StoreError`: a store that cannot be opened, reached or written, or an object
  in it that is unusable; :class:`StoreMissing` and :class:`StoreConflict` say which.
- :class:`CrawlExists`: a crawl id already taken, in the store or on Redis.
"""

from __future__ import annotations


class ScrubwatchError(Exception):
    """Something the user can cause and fix; the message says what and how, on one line."""


class BadInput(ScrubwatchError, ValueError):
    """A flag, file, URL or setting that cannot be used; the message names it."""


class InvalidName(BadInput):
    """A crawl id, worker id, file name or store key outside what the layout allows."""


class StoreError(ScrubwatchError):
    """A store cannot be opened, reached or written, or an object in it is unusable."""


class StoreConflict(StoreError):
    """A key already holds different content; the stored object is left as it was."""


class StoreMissing(StoreError):
    """A key is not in the store."""


class CrawlExists(ScrubwatchError):
    """A crawl id that the store or the shared frontier already holds: nothing is overwritten."""


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line, for wrapping into a ``ScrubwatchError``."""
    return " ".join(str(exc).split()) or type(exc).__name__
