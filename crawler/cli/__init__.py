"""``scrubwatch``: the command-line tool, a thin layer over :mod:`crawler` and :mod:`storage`.

Each command calls one library function; the modules here only parse flags and
print. Commands are grouped by what they work on.
"""

from crawler.cli import (  # noqa: F401  (they register commands)
    alerts,
    archive,
    crawling,
    history,
    imports,
    replay,
    schedule,
    wacz,
)
from crawler.cli.base import main, run

__all__ = ["main", "run"]
