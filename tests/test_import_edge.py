"""``scrubwatch import`` given what it cannot use: one line, exit status 2, nothing stored."""

from __future__ import annotations

from pathlib import Path

from crawler.localweb.archive import free_port
from tests.fixtures.cli import run_cli

URL = "http://127.0.0.2:8/article"


def test_an_archive_that_does_not_answer_stores_nothing(tmp_path: Path) -> None:
    store = tmp_path / "archive"
    cdx = f"http://127.0.0.1:{free_port()}/coll/cdx"
    done = run_cli("import", URL, "--store", str(store), "--crawl-id", "i1", "--from", cdx,
                   "-s", "ARCHIVE_DELAY=0", "-s", "ARCHIVE_RETRIES=0")  # fmt: skip
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]  # after the warning naming the URL
    assert line.startswith("Error: nothing imported into crawl i1: archive request ")
    assert not (store / "crawls" / "i1").exists()
    again = run_cli("crawls", "--store", str(store), "--json")
    assert again.stdout == ""


def test_bad_flags_are_one_line_errors(tmp_path: Path) -> None:
    store = str(tmp_path / "archive")
    done = run_cli("import", URL, "--store", store, "--from", "archive.org")
    assert done.returncode == 2 and "--from 'archive.org': use wayback, memento" in done.stderr
    done = run_cli("import", URL, "--store", store, "--since", "June")
    assert done.returncode == 2 and "--since/--until: 'June' is not a date" in done.stderr
    done = run_cli("import", "--store", store)
    assert done.returncode == 2 and "Missing argument" in done.stderr
