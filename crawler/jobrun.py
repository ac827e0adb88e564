"""One run of a recurring job: its crawl id, its crawl command, and its scrub report.

A run is an ordinary ``scrubwatch crawl`` in its own process (Twisted's reactor runs
once per process) into the job's store, so diffs and timelines work across runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.jobs import Job
from crawler.jobstate import write_atomic
from history.diff import diff_crawls
from history.report import render_report
from storage import new_crawl_id, validate_crawl_id
from storage.captures import CaptureIndex
from storage.stores import open_existing_store

Runner = Callable[[Job, str], int]
"""Runs the crawl ``crawl_id`` of a job and returns its exit code (0: stored)."""


def job_crawl_id(job: Job, started: datetime) -> str:
    """``<UTC start YYYYMMDDTHHMMSSZ>-<job>``: unique across jobs sharing a store, sorted by time."""
    return validate_crawl_id(f"{new_crawl_id(started)}-{job.name}")


def _setting_text(value: Any) -> str:
    """A TOML value as ``-s NAME=VALUE`` text that Scrapy's typed getters read back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, list):
        return ",".join(_setting_text(item) for item in value)
    return str(value)


def crawl_command(job: Job, crawl_id: str) -> list[str]:
    """The ``scrubwatch crawl`` command line of one run of ``job``."""
    command = [sys.executable, "-m", "crawler", "crawl", *job.seeds, "--store", job.store]
    command += ["--crawl-id", crawl_id, "--depth", str(job.depth)]
    if job.allow_private:
        command.append("--allow-private")
    if job.ignore_robots:
        command.append("--ignore-robots")
    for search in job.searches:
        command += ["--search", search]
    if job.search_pages is not None:
        command += ["--search-pages", str(job.search_pages)]
    if job.browser is not None:
        command += ["--browser", job.browser]
    if job.outlets is not None:
        command += ["--outlets", str(job.outlets)]
    for name, value in job.settings.items():
        command += ["-s", f"{name}={_setting_text(value)}"]
    return command


def crawl_subprocess(job: Job, crawl_id: str) -> int:
    """The default runner; the crawl's summary goes to this process's stdout."""
    return subprocess.run(crawl_command(job, crawl_id), check=False).returncode


def write_report(job: Job, from_id: str, to_id: str) -> Path:
    """Write ``<report_dir>/<job>-<to_id>.html`` and ``.json``; return the HTML path."""
    if job.report_dir is None:
        raise ValueError(f"job {job.name} has no report_dir")
    store = open_existing_store(job.store)
    index = CaptureIndex(store)
    diff = diff_crawls(store, from_id, to_id, index=index)
    stem = job.report_dir / f"{job.name}-{to_id}"
    write_atomic(Path(f"{stem}.json"), json.dumps(diff.to_dict(), ensure_ascii=False, indent=2))
    html = Path(f"{stem}.html")
    write_atomic(html, render_report(store, diff, index))
    return html
