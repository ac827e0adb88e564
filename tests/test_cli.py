"""Tests of the ``scrubwatch`` command line as a whole: help, documentation, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from storage import open_store
from tests.fixtures.cli import run_cli
from tests.fixtures.stored import Capture, store_crawl

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = sorted(main.commands)


def test_every_command_is_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    assert [name for name in COMMANDS if f"scrubwatch {name}" not in readme] == []


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name: str) -> None:
    done = CliRunner().invoke(main, [name, "--help"], prog_name="scrubwatch")
    assert done.exit_code == 0
    command = main.commands[name]
    assert command.help and command.help.split("\n")[0] in " ".join(done.stdout.split())
    assert f"Usage: scrubwatch {name} " in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawls", "--store", "s3://"], "is not of the form s3://bucket/prefix"),
        (["pull", "--store", "/nonexistent", "dest"], "store /nonexistent does not exist"),
        (["verify", "--store", "bad://x"], "unknown scheme 'bad'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pull"], "Missing argument 'DEST'"),
        (["pull", "d", "--what", "pdf"], "Invalid value for '--what'"),
        (["pull", "d", "--since", "last week"], "--since 'last week': use YYYY-MM-DD"),
        (["nope"], "No such command 'nope'"),
        (["crawls", "--bogus"], "scrubwatch crawls: No such option '--bogus'"),
        (["verify", "--crawl", "../x"], "invalid crawl id '../x'"),
        (["push", "--retain-days", "-3"], "retention days must be 0 (none) or more"),
        (["push", "--store", "s3://b/p", "--retain-days", "1", "--lock-mode", "x"], "'x'"),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "archive").mkdir()
    args = [a if a != "d" else str(tmp_path / "d") for a in args]
    if args[0] in ("pull", "verify", "push") and "--store" not in args:
        args += ["--store", str(tmp_path / "archive")]
    done = CliRunner().invoke(main, args, prog_name="scrubwatch")
    assert done.exit_code == 2, done.output
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_verify_names_each_problem(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    created = datetime(2026, 1, 1, tzinfo=UTC)
    store_crawl(
        store,
        tmp_path / "staging",
        "c1",
        [Capture("https://a.example/", None, "a.warc.gz")],
        created=created,
    )
    ok = CliRunner().invoke(main, ["verify", "--store", store.uri, "--crawl", "c1"])
    assert ok.exit_code == 0 and ok.stdout == "ok: 1 crawls, 8 files verified\n"
    warc = "crawls/c1/warc/a.warc.gz"
    size = store.size(warc)
    assert store.local_root is not None
    (store.local_root / warc).write_bytes(b"changed")
    (store.local_root / "crawls/c1/crawl-log.jsonl.gz").unlink()
    bad = CliRunner().invoke(main, ["verify", "--store", store.uri])
    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == [
        "crawls/c1/crawl-log.jsonl.gz: missing",
        f"{warc}: size mismatch: manifest says {size} bytes, store has 7",
    ]
    assert bad.stderr == "2 problem(s) in 1 crawls, 8 files\n"
    missing = CliRunner().invoke(main, ["verify", "--store", store.uri, "--crawl", "c2"])
    assert missing.exit_code == 2 and "crawl c2 is not in store" in missing.stderr
