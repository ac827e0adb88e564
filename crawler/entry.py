"""The ``scrubwatch`` program (and ``python -m crawler``): the CLI, the fork server first.

A command that extracts pages starts the extraction workers' fork server before the CLI
imports Scrapy (:func:`pipelines.forkserver.start_early`), so that its second of imports
runs beside them.
"""

from __future__ import annotations

import sys


def main() -> None:
    from pipelines import forkserver

    forkserver.start_early(sys.argv[1:])
    from crawler.cli import run

    run()
