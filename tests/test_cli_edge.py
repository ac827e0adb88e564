"""The CLI's edge: which errors become one line, what JSON it prints, and a closed pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import storage.catalog
from crawler.cli import main
from crawler.jobs import JobsError
from crawler.outlets import SeedError
from crawler.resume import ResumeError
from crawler.summary import CrawlError
from storage import open_store
from storage.errors import (
    BadInput,
    CrawlExists,
    InvalidName,
    ScrubwatchError,
    StoreError,
    StoreMissing,
)
from tests.fixtures.stored import Capture, store_crawl

README = Path(__file__).resolve().parents[1] / "README.md"
SCRUBWATCH = Path(sys.executable).with_name("scrubwatch")
# stdout buffered as a user's is, so that some output is left for the flush at exit
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A store of two complete crawls of two pages."""
    store = open_store(str(tmp_path / "archive"))
    captures = [
        Capture("https://www.upi.com/a", "upi", "a.warc.gz"),
        Capture("https://www.upi.com/b", "upi", "a.warc.gz"),
    ]
    for crawl_id, month in (("c1", 1), ("c2", 2)):
        created = datetime(2026, month, 1, tzinfo=UTC)
        store_crawl(store, tmp_path / "staging", crawl_id, captures, created=created)
    return tmp_path / "archive"


@pytest.mark.parametrize(
    "error",
    [
        BadInput("a bad flag"),
        InvalidName("invalid crawl id '..'"),
        StoreError("store s3://b/p is not reachable"),
        StoreMissing("crawl c9 is not in store x"),
        CrawlExists("crawl c1 already exists"),
        SeedError("seed a.txt: file not found"),
        JobsError("scrubwatch.toml: no jobs"),
        ResumeError("crawl c1 cannot be resumed"),
        CrawlError("crawl c1 did not start"),
    ],
)
def test_what_a_user_can_cause_is_one_line_and_exit_2(
    archive: Path, monkeypatch: pytest.MonkeyPatch, error: ScrubwatchError
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(storage.catalog, "list_crawls", fail)
    done = CliRunner().invoke(main, ["crawls", "--store", str(archive)])
    assert done.exit_code == 2
    assert done.stderr == f"Error: {error}\n"


@pytest.mark.parametrize("error", [ValueError("a bug"), TypeError("a bug"), OSError("a bug")])
def test_a_bug_is_not_made_one_line_but_propagates(
    archive: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(storage.catalog, "list_crawls", fail)
    done = CliRunner().invoke(main, ["crawls", "--store", str(archive)])
    assert done.exit_code == 1 and done.exception is error
    assert "Error:" not in done.stderr
    with pytest.raises(type(error), match="a bug"):
        CliRunner().invoke(main, ["crawls", "--store", str(archive)], catch_exceptions=False)


def test_the_program_shows_a_bug_with_its_traceback(archive: Path) -> None:
    program = (
        "import storage.catalog\n"
        "def bug(store): raise TypeError('a bug')\n"
        "storage.catalog.list_crawls = bug\n"
        "from crawler.entry import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, "crawls", "--store", str(archive)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("TypeError: a bug")


def test_files_and_settings_the_user_names_fail_as_one_line(archive: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    url = "https://www.upi.com/a"
    for args, message in [
        (["get", "--store", str(archive), url, "-o", str(blocker / "x")], "cannot write"),
        (["diff", "--store", str(archive), "--html", str(blocker / "r.html")], "cannot write"),
        (["pull", "--store", str(archive), str(blocker / "dest")], "cannot write"),
        (
            ["crawl", url, "--store", str(tmp_path / "new"), "-s", "STORE_RETAIN_DAYS=abc"],
            "setting STORE_RETAIN_DAYS: 'abc' is not a valid int",
        ),
    ]:
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 2, (args, done.output)
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
        assert str(blocker) in done.stderr or "STORE_RETAIN_DAYS" in done.stderr


def test_lists_print_json_lines_and_one_result_one_document(archive: Path, tmp_path: Path) -> None:
    seeds = tmp_path / "two.seeds"
    seeds.write_text("https://www.upi.com/a\nhttps://www.upi.com/b\n")
    store = ["--store", str(archive)]
    for args, count in [
        (["seeds", str(seeds), "--json"], 2),
        (["crawls", *store, "--json"], 2),
        (["timeline", *store, "https://www.upi.com/a", "--json"], 2),
    ]:
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 0, done.output
        lines = done.stdout.splitlines()
        assert len(lines) == count and all(isinstance(json.loads(x), dict) for x in lines)
    diff = CliRunner().invoke(main, ["diff", *store, "--json"])
    assert diff.exit_code == 0, diff.output
    document = json.loads(diff.stdout)
    assert (document["from"], document["to"]) == ("c1", "c2")
    assert len(diff.stdout.splitlines()) > 1  # indented, not a JSON line


def test_the_readme_says_how_each_json_option_prints() -> None:
    section = README.read_text(encoding="utf-8").split("### JSON output", 1)[1].split("###")[0]
    commands = [
        name
        for name, command in {**main.commands, **main.commands["schedule"].commands}.items()  # type: ignore[attr-defined]
        if any(option.name == "as_json" for option in command.params)
    ]
    assert sorted(commands) == ["crawls", "diff", "list", "seeds", "timeline"]
    for name in commands:
        assert f"`{name} --json`" in section or f"`schedule {name} --json`" in section, name


def test_a_pipe_closed_early_ends_the_program_quietly(tmp_path: Path) -> None:
    """Far more than a pipe holds, read by ``head -1``: the rest cannot be written."""
    seeds = tmp_path / "many.seeds"
    seeds.write_text(
        "".join(f"https://www.upi.com/news/{i}/a-story  # story {i}\n" for i in range(5000))
    )
    done = subprocess.run(
        f"'{SCRUBWATCH}' seeds --json '{seeds}' | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        env=BUFFERED,
    )
    assert done.stderr == ""
    assert json.loads(done.stdout)["url"] == "https://www.upi.com/news/0/a-story"


def test_a_closed_pipe_is_quiet_with_python_m_crawler_too(tmp_path: Path) -> None:
    seeds = tmp_path / "many.seeds"
    seeds.write_text("".join(f"https://www.upi.com/{i}\n" for i in range(5000)))
    done = subprocess.run(
        f"'{sys.executable}' -m crawler seeds '{seeds}' | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        env=BUFFERED,
    )
    assert done.stderr == "" and done.stdout.split() == ["listed", "upi", "https://www.upi.com/0"]


def test_output_left_for_the_flush_at_exit_into_a_closed_pipe_is_quiet(archive: Path) -> None:
    """``true`` reads nothing: the payload, still buffered, is written into a closed pipe."""
    done = subprocess.run(
        f"'{SCRUBWATCH}' get --store '{archive}' https://www.upi.com/a | true; "
        'echo "${PIPESTATUS[0]}"',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=120,
        env=BUFFERED,
    )
    assert done.stderr == ""
    assert done.stdout == "1\n"
