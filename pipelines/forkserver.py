"""The fork server the extraction workers are forked from, started as early as a command can.

The server imports trafilatura and loads py3langid's model and jusText's stoplists
(:mod:`pipelines.extractpreload`, about a second of CPU). Started when the extraction
pool is made, that second comes after the command's own imports and set-up, and the
first page waits for it with the reactor held up; :func:`start_early`, called by the CLI
before it imports Scrapy, runs it beside them on the other core. Plain Python, imports
only the standard library: it runs before everything else.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
from collections.abc import Sequence
from multiprocessing.context import ForkServerContext

# "__main__": a script's main module is imported once there, not in every worker.
PRELOAD = ["__main__", "pipelines.extractpreload"]
#: the commands that extract pages unless ``EXTRACT_ENABLED`` is set off
EXTRACTING_COMMANDS = ("crawl", "worker")
_OFF = ("0", "false", "no", "off")


def fork_server() -> ForkServerContext:
    """The fork-server context, the server set to preload :data:`PRELOAD`."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start() -> None:
    """Start the fork server now if it is not running (it preloads in the background)."""
    fork_server()
    multiprocessing.forkserver.ensure_running()


def extracts(args: Sequence[str]) -> bool:
    """Whether the command line ``args`` (without the program) runs extraction workers.

    A guess from the words alone, before the CLI parses them: a crawl or worker command
    without ``-s EXTRACT_ENABLED=`` set off and without ``--help``. A wrong guess costs
    only time: a fork server started for nothing, or started when the pool is made.
    """
    if not args or args[0] not in EXTRACTING_COMMANDS:
        return False
    for arg in args[1:]:
        if arg in ("-h", "--help"):
            return False
        _, setting, value = arg.rpartition("EXTRACT_ENABLED=")
        if setting and value.strip().lower() in _OFF:
            return False
    return True


def start_early(args: Sequence[str]) -> bool:
    """:func:`start` if ``args`` are a command that :func:`extracts`; True if started."""
    if extracts(args):
        start()
        return True
    return False
