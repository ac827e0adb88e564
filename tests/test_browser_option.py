"""Tests of ``--browser`` and ``BROWSER_MODE``: from the command line, the jobs file and a
resume into the crawl's settings, and checked before anything is fetched."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scrapy.settings import Settings

from crawler import crawl as crawl_module
from crawler.cli import main
from crawler.jobrun import crawl_command
from crawler.jobs import JobsError, load_jobs
from crawler.resume import read_args
from crawler.summary import CrawlSummary
from storage.layout import default_staging_dir
from storage.stores import open_store
from tests.fixtures.cli import run_cli

URL = "https://example.org/article"


@pytest.fixture
def crawled(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """The settings each crawl started in this process would run with (nothing is run)."""
    runs: list[Settings] = []

    def run_process(settings: Settings, store_uri: str) -> CrawlSummary:
        runs.append(settings)
        return CrawlSummary(settings.get("CRAWL_ID"), store_uri, {}, error="not run")

    monkeypatch.setattr(crawl_module, "run_process", run_process)
    return runs


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), prog_name="scrubwatch")


@pytest.mark.parametrize(
    ("flags", "mode"),
    [((), "auto"), (("--browser", "never"), "never"), (("--browser", "ALWAYS"), "always")],
)
def test_the_flag_sets_browser_mode(
    crawled: list[Settings], tmp_path: Path, flags: tuple[str, ...], mode: str
) -> None:
    done = invoke("crawl", URL, "--store", str(tmp_path / "a"), "--crawl-id", "c1", *flags)
    assert done.exit_code == 1, done.output  # the crawl "failed": it was not run
    assert [settings.get("BROWSER_MODE") for settings in crawled] == [mode]


def test_a_resume_asks_for_the_same_browser_mode(crawled: list[Settings], tmp_path: Path) -> None:
    store = tmp_path / "a"
    invoke("crawl", URL, "--store", str(store), "--crawl-id", "c1", "--browser", "never")
    args = read_args(default_staging_dir(open_store(str(store))), "c1")
    assert args is not None and args.overrides["BROWSER_MODE"] == "never"
    invoke("crawl", "--resume", "c1", "--store", str(store))
    assert [settings.get("BROWSER_MODE") for settings in crawled] == ["never", "never"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--browser", "sometimes"], "Invalid value for '--browser': 'sometimes' is not one of"),
        (
            ["-s", "BROWSER_MODE=sometimes"],
            "setting BROWSER_MODE: 'sometimes' is not one of auto, always, never",
        ),
        (
            ["--browser", "auto", "-s", "BROWSER_EXECUTABLE=/no/chromium"],
            "BROWSER_EXECUTABLE /no/chromium: no such",
        ),
    ],
)
def test_a_bad_browser_is_one_line_before_the_crawl(
    tmp_path: Path, args: list[str], message: str
) -> None:
    store = tmp_path / "a"
    done = run_cli("crawl", URL, "--store", str(store), *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert not list(store.glob("crawls/*"))


def test_no_chromium_is_needed_with_browser_never(crawled: list[Settings], tmp_path: Path) -> None:
    done = invoke(
        "crawl", URL, "--store", str(tmp_path / "a"), "--crawl-id", "c1",
        "--browser", "never", "-s", "BROWSER_EXECUTABLE=/no/chromium",
    )  # fmt: skip
    assert done.exit_code == 1 and len(crawled) == 1, done.output


def test_a_worker_checks_its_browser_before_it_joins(tmp_path: Path) -> None:
    done = run_cli(
        "worker", "--redis", "redis://127.0.0.1:1/0", "--store", str(tmp_path),
        "--crawl-id", "c1", "--browser", "always", "-s", "BROWSER_EXECUTABLE=/no/chromium",
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("Error: BROWSER_EXECUTABLE /no/chromium: no such"), done.stderr


def write_job(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "scrubwatch.toml"
    path.write_text(
        f'[jobs.x]\nseeds = ["{URL}"]\nstore = "archive"\nschedule = {{ every = "1d" }}\n{extra}\n'
    )
    return path


def test_a_job_carries_its_browser_into_the_crawl_command(tmp_path: Path) -> None:
    (job,) = load_jobs(write_job(tmp_path, 'browser = "always"'))
    assert job.browser == "always"
    command = crawl_command(job, "20300107T001000Z-x")
    assert command[:4] == [sys.executable, "-m", "crawler", "crawl"]
    assert command[-2:] == ["--browser", "always"]
    (default,) = load_jobs(write_job(tmp_path, ""))
    assert default.browser is None and "--browser" not in crawl_command(default, "c")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'browser = "sometimes"',
            'browser: must be one of "auto", "always", "never", not \'sometimes\'',
        ),
        ("browser = true", 'browser: must be one of "auto", "always", "never", not True'),
        ('settings = { BROWSER_MODE = "never" }', "BROWSER_MODE is set by the job's browser"),
    ],
)
def test_a_bad_browser_in_a_job_is_named(tmp_path: Path, extra: str, message: str) -> None:
    path = write_job(tmp_path, extra)
    with pytest.raises(JobsError) as raised:
        load_jobs(path)
    assert str(raised.value).startswith(f'{path}: job "x": ')
    assert str(raised.value).endswith(message)
