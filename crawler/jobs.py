"""Recurring crawls: the jobs file (``scrubwatch.toml``), read and checked.

A job is a named crawl with a schedule::

    [jobs.dong-jingwei]
    seeds = ["seeds/dong-jingwei/article.txt"]
    searches = ["baidu:董经纬"]     # search seeds, ENGINE:QUERY (seeds or searches: one at least)
    store = "archive"
    schedule = { cron = "0 */6 * * *", timezone = "Europe/Berlin" }   # or { every = "6h" }
    depth = 1
    browser = "always"      # pages rendered in Chromium: auto (the default), always, never
    report_dir = "reports"
    settings = { AUTOTHROTTLE_ENABLED = false }

Paths are relative to the jobs file's folder. ``load_jobs`` checks everything and
raises ``JobsError`` naming the file, the job and the field. When a schedule fires is
worked out in ``crawler.schedules``; running the jobs, in ``crawler.scheduler``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.alerts import NOTIFY_ON, NotifyOn, url_label
from crawler.browser.policy import BROWSER_MODES, BrowserMode
from crawler.outlets import SeedError
from crawler.schedules import CronSchedule, IntervalSchedule
from crawler.searches import parse_search
from crawler.spiders.cited import is_url
from storage import STORE_SCHEMES
from storage.errors import BadInput

T = TypeVar("T")

DEFAULT_JOBS_FILE = "scrubwatch.toml"
STATE_DIRNAME = ".scrubwatch-state"
# Crawl ids are "<YYYYMMDDTHHMMSSZ>-<job>" and may be 64 characters long.
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,46}")
_JOB_FIELDS = {
    "seeds",
    "searches",
    "search_pages",
    "ignore_robots",
    "store",
    "schedule",
    "depth",
    "allow_private",
    "browser",
    "outlets",
    "settings",
    "report_dir",
    "notify",
    "notify_on",
}
# A job sets these through its own fields; a settings override would make them disagree.
_RESERVED_SETTINGS = {
    "SEEDS": "the job's seeds",
    "STORE_URI": "the job's store",
    "CRAWL_ID": "the scheduler (a new id each run)",
    "CRAWL_DEPTH": "the job's depth",
    "SSRF_ALLOW_PRIVATE": "the job's allow_private",
    "OUTLETS_REGISTRY": "the job's outlets",
    "BROWSER_MODE": "the job's browser",
    "SEARCHES": "the job's searches",
    "SEARCH_PAGES": "the job's search_pages",
}


class JobsError(BadInput):
    """A jobs file that cannot be used; the message names the file, the job and the field."""


@dataclass(frozen=True)
class Job:
    """One recurring crawl; paths are absolute, and ``state_dir`` is beside the jobs file."""

    name: str
    seeds: tuple[str, ...]
    store: str
    schedule: CronSchedule | IntervalSchedule
    state_dir: Path
    depth: int = 0
    allow_private: bool = False
    browser: BrowserMode | None = None  # None: the BROWSER_MODE setting's default
    outlets: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    report_dir: Path | None = None
    searches: tuple[str, ...] = ()  # ENGINE:QUERY
    search_pages: int | None = None  # None: the SEARCH_PAGES setting's default
    ignore_robots: bool = False
    #: apprise URLs told after a run (crawler/alerts.py); they hold secrets: not in repr
    notify: tuple[str, ...] = field(default=(), repr=False)
    notify_on: NotifyOn = "scrub"


class _JobReader:
    """Reads one job's table; ``fail`` names the file, the job and the field."""

    def __init__(self, path: Path, base: Path, name: str) -> None:
        self.path, self.base, self.name = path, base, name

    def fail(self, field_name: str, message: str) -> JobsError:
        return JobsError(f'{self.path}: job "{self.name}": {field_name}: {message}')

    def read(self, table: Any) -> Job:
        if not _JOB_NAME.fullmatch(self.name):
            raise self.fail(
                "name", "use 1-47 letters, digits, '_' or '-', starting with a letter or digit"
            )
        if not isinstance(table, dict):
            raise JobsError(f'{self.path}: job "{self.name}" must be a table ([jobs.{self.name}])')
        if unknown := sorted(set(table) - _JOB_FIELDS):
            raise self.fail(unknown[0], f"unknown field; use {', '.join(sorted(_JOB_FIELDS))}")
        for required in ("store", "schedule"):
            if required not in table:
                raise self.fail(required, "missing")
        if "seeds" not in table and "searches" not in table:
            raise self.fail("seeds", "missing")  # or searches: one at least
        depth = table.get("depth", 0)
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
            raise self.fail("depth", f"must be a whole number, 0 or more, not {depth!r}")
        allow_private = table.get("allow_private", False)
        if not isinstance(allow_private, bool):
            raise self.fail("allow_private", f"must be true or false, not {allow_private!r}")
        ignore_robots = table.get("ignore_robots", False)
        if not isinstance(ignore_robots, bool):
            raise self.fail("ignore_robots", f"must be true or false, not {ignore_robots!r}")
        search_pages = table.get("search_pages")
        if search_pages is not None and (
            not isinstance(search_pages, int) or isinstance(search_pages, bool) or search_pages < 1
        ):
            raise self.fail(
                "search_pages", f"must be a whole number, 1 or more, not {search_pages!r}"
            )
        outlets = table.get("outlets")
        browser = table.get("browser")
        searches = self.searches(table.get("searches", []))
        if "seeds" not in table and not searches:
            raise self.fail("searches", "must not be empty when the job has no seeds")
        return Job(
            name=self.name,
            seeds=self.seeds(table["seeds"]) if "seeds" in table else (),
            store=self.store(table["store"]),
            schedule=self.schedule(table["schedule"]),
            state_dir=self.base / STATE_DIRNAME,
            depth=depth,
            allow_private=allow_private,
            browser=None if browser is None else self.browser(browser),
            outlets=None if outlets is None else self.existing("outlets", outlets),
            settings=self.settings(table.get("settings", {})),
            report_dir=self.folder("report_dir", table.get("report_dir")),
            searches=searches,
            search_pages=search_pages,
            ignore_robots=ignore_robots,
            notify=self.notify(table.get("notify", [])),
            notify_on=self.notify_on(table.get("notify_on", "scrub")),
        )

    def text(self, field_name: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field_name, f"must be a non-empty string, not {value!r}")
        return value.strip()

    def existing(self, field_name: str, value: Any) -> Path:
        path = self.base / self.text(field_name, value)
        if not path.is_file():
            raise self.fail(field_name, f"no such file {path}")
        return path

    def folder(self, field_name: str, value: Any) -> Path | None:
        return None if value is None else self.base / self.text(field_name, value)

    def seeds(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("seeds", "must be a non-empty list of URLs or files")
        seeds = [self.text("seeds", seed) for seed in value]
        return tuple(s if is_url(s) else str(self.existing("seeds", s)) for s in seeds)

    def searches(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail("searches", 'must be a list of "ENGINE:QUERY" strings')
        searches = []
        for text in value:
            try:
                searches.append(str(parse_search(self.text("searches", text))))
            except SeedError as exc:
                raise self.fail("searches", str(exc)) from None
        return tuple(searches)

    def store(self, value: Any) -> str:
        uri = self.text("store", value)
        scheme = urlsplit(uri).scheme.lower()
        if scheme not in STORE_SCHEMES:
            raise self.fail("store", f"unknown scheme {scheme!r}: use a folder, file:// or s3://")
        return uri if scheme else str(self.base / uri)

    def schedule(self, value: Any) -> CronSchedule | IntervalSchedule:
        if not isinstance(value, dict):
            raise self.fail(
                "schedule", '{ cron = "0 */6 * * *", timezone = "UTC" } or { every = "6h" }'
            )
        if unknown := sorted(set(value) - {"cron", "timezone", "every"}):
            raise self.fail(
                "schedule", f"unknown field {unknown[0]!r}; use cron and timezone, or every"
            )
        if ("cron" in value) == ("every" in value):
            raise self.fail("schedule", "give either cron (with an optional timezone) or every")
        if "every" in value:
            if "timezone" in value:
                raise self.fail("schedule", "timezone applies to cron only; every counts in UTC")
            every = self.text("schedule", value["every"])
            try:
                return IntervalSchedule.parse(every)
            except ValueError as exc:
                raise self.fail("schedule", f"every {every!r} is invalid: {exc}") from None
        timezone = self.text("schedule", value.get("timezone", "UTC"))
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                "schedule", f"unknown timezone {timezone!r}: use an IANA name"
            ) from None
        expression = " ".join(self.text("schedule", value["cron"]).split())
        try:
            return CronSchedule(expression, timezone)
        except ValueError as exc:
            raise self.fail("schedule", f'cron "{expression}" is invalid: {exc}') from None

    def one_of(self, field_name: str, value: Any, choices: tuple[T, ...]) -> T:
        for choice in choices:
            if value == choice:
                return choice
        names = ", ".join(f'"{choice}"' for choice in choices)
        raise self.fail(field_name, f"must be one of {names}, not {value!r}")

    def browser(self, value: Any) -> BrowserMode:
        return self.one_of("browser", value, BROWSER_MODES)

    def notify(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail("notify", 'must be a list of apprise URLs, e.g. ["mailto://..."]')
        urls = tuple(self.text("notify", url) for url in value)
        for index, url in enumerate(urls):
            if "://" not in url:  # named by position: a URL may hold a secret
                raise self.fail("notify", f"{url_label(index, url)} is not a URL")
        return urls

    def notify_on(self, value: Any) -> NotifyOn:
        return self.one_of("notify_on", value, NOTIFY_ON)

    def settings(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail("settings", "must be a table of Scrapy settings")
        for name, setting in value.items():
            if name in _RESERVED_SETTINGS:
                raise self.fail("settings", f"{name} is set by {_RESERVED_SETTINGS[name]}")
            if not isinstance(setting, str | int | float | bool | list | dict):
                raise self.fail("settings", f"{name}: dates and times are not setting values")
        return dict(value)


def load_jobs(path: str | Path = DEFAULT_JOBS_FILE) -> list[Job]:
    """The jobs of the jobs file at ``path``, checked; raises ``JobsError``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JobsError(f"{path}: no such jobs file: create it or give --jobs FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobsError(f"{path}: cannot read the jobs file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise JobsError(f"{path}: not valid TOML: {exc}") from None
    if unknown := sorted(set(data) - {"jobs"}):
        raise JobsError(f"{path}: unknown table {unknown[0]!r}: jobs go in [jobs.<name>] tables")
    jobs = data.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        raise JobsError(f"{path}: no jobs: add a [jobs.<name>] table with seeds, store, schedule")
    base = path.resolve().parent
    return [_JobReader(path, base, name).read(table) for name, table in jobs.items()]
