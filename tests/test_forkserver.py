"""pipelines/forkserver.py: which command lines start the fork server before the CLI's imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines import forkserver


@pytest.mark.parametrize(
    ("args", "extracts"),
    [
        (["crawl", "seeds/x.seeds", "--store", "archive"], True),
        (["worker", "--redis", "redis://127.0.0.1:1/0"], True),
        (["crawl", "x.seeds", "-s", "EXTRACT_ENABLED=false"], False),
        (["crawl", "x.seeds", "--set=EXTRACT_ENABLED=0"], False),
        (["crawl", "x.seeds", "-sEXTRACT_ENABLED=False"], False),
        (["crawl", "x.seeds", "-s", "EXTRACT_ENABLED=true"], True),
        (["crawl", "--help"], False),
        (["diff", "--store", "archive"], False),
        (["demo"], False),
        ([], False),
    ],
)
def test_which_commands_extract(args: list[str], extracts: bool) -> None:
    assert forkserver.extracts(args) is extracts


def test_start_early_starts_the_server_only_for_them() -> None:
    """In a fresh interpreter: the fork server is a child process once started."""
    script = (
        "import multiprocessing.forkserver as fs, sys\n"
        "from pipelines import forkserver\n"
        "started = forkserver.start_early(sys.argv[1:])\n"
        "print(started, fs._forkserver._forkserver_pid is not None)\n"
    )
    for args, expected in ((["crawl", "x"], "True True"), (["diff"], "False False")):
        result = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
        )
        assert result.stdout.split() == expected.split(), result.stderr
