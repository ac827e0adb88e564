"""Runs the ``cited`` spider in this process, with the project's settings.

``scrubwatch crawl`` and ``scrapy crawl cited`` share this code path: the same
settings module, the same spider, the same extensions. Everything a user can get
wrong (seeds, store, crawl id) is checked here first, before anything is fetched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.crawlgroup import CrawlGroup, GroupError, connect
from crawler.outlets import OutletRegistry
from crawler.seeds import load_seed
from crawler.spiders.cited import CitedSpider, is_url
from storage import crawl_exists, crawl_log_key, new_crawl_id, open_store, validate_crawl_id


class CrawlError(Exception):
    """A crawl that cannot start or did not finish; the message says why and what to do."""


@dataclass
class CrawlSummary:
    crawl_id: str
    store: str
    stats: dict[str, Any]
    error: str | None = None
    statuses: dict[int, int] = field(default_factory=dict)
    worker: str | None = None  # this process, in a crawl shared over Redis

    def lines(self) -> list[str]:
        s = self.stats
        failed = {k.split("/")[-1]: v for k, v in s.items() if k.startswith("crawl/failed/")}
        out = [
            f"crawl {self.crawl_id} into {self.store}",
            f"  seeds: {s.get('crawl/items/seed', 0)} pages  cited: "
            f"{s.get('crawl/items/cited', 0)}  linked: {s.get('crawl/items/linked', 0)}  "
            f"requisites: {s.get('crawl/items/requisite', 0)}",
            "  responses: "
            + (", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items())) or "none"),
            f"  WARC: {s.get('warc/files', 0)} files, {s.get('warc/bytes', 0):,} bytes, "
            f"{s.get('warc/records/response', 0)} responses, "
            f"{s.get('warc/records/revisit', 0)} revisits",
            "  failures: "
            + (", ".join(f"{k}: {v}" for k, v in sorted(failed.items())) or "none")
            + f" (see {crawl_log_key(self.crawl_id, self.worker)})",
        ]
        if "frontier/workers" in s:
            out.append(
                f"  workers: {s['frontier/workers']}, lost: {s.get('frontier/workers_lost', 0)}"
            )
        if self.error:
            out.append(f"  not stored: {self.error}")
        else:
            out.append(f"  stored: {s.get('store/files', 0)} files under crawls/{self.crawl_id}/")
        return out


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


def check_seeds(seeds: list[str], registry: OutletRegistry) -> None:
    """Read every file seed now, so a bad one fails before the crawl starts."""
    if not seeds:
        raise CrawlError("no seeds given: name a seed article (URL, .html, .txt) or a .seeds list")
    for seed in seeds:
        if not is_url(seed):
            load_seed(seed, registry)


def run_crawl(
    seeds: list[str],
    store_uri: str,
    *,
    crawl_id: str | None = None,
    depth: int = 0,
    allow_private: bool = False,
    ignore_robots: bool = False,
    outlets: list[str] | None = None,
    retain_days: int | None = None,
    lock_mode: str | None = None,
    redis_url: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> CrawlSummary:
    """Crawl ``seeds`` into the store at ``store_uri``; the flags override the settings.

    ``retain_days`` and ``lock_mode`` set ``STORE_RETAIN_DAYS`` and ``STORE_LOCK_MODE``;
    ``redis_url`` shares the crawl with ``scrubwatch worker`` processes (``REDIS_URL``).
    """
    overrides = dict(overrides or {})
    if retain_days is not None:
        overrides["STORE_RETAIN_DAYS"] = retain_days
    if lock_mode is not None:
        overrides["STORE_LOCK_MODE"] = lock_mode
    early = project_settings(overrides)
    store = open_store(
        store_uri,
        retain_days=early.getint("STORE_RETAIN_DAYS"),
        lock_mode=early.get("STORE_LOCK_MODE"),
    )
    store.check_writable()
    crawl_id = validate_crawl_id(crawl_id or new_crawl_id(datetime.now(UTC)))
    if crawl_exists(store, crawl_id):
        raise CrawlError(
            f"crawl {crawl_id} already exists in store {store.uri}: nothing is overwritten; "
            "choose another --crawl-id"
        )
    if depth < 0:
        raise CrawlError(f"--depth must be 0 or more, got {depth}")
    if redis_url:
        overrides["REDIS_URL"] = redis_url
        check_new_shared(redis_url, crawl_id)
    settings = project_settings(
        {
            "SEEDS": [s if is_url(s) else str(Path(s).resolve()) for s in seeds],
            "STORE_URI": store_uri,
            "CRAWL_ID": crawl_id,
            "CRAWL_DEPTH": depth,
            "SSRF_ALLOW_PRIVATE": allow_private,
            "ROBOTSTXT_OBEY": not ignore_robots,
            **overrides,
        }
    )
    use_outlets(settings, outlets)
    registry = OutletRegistry.load(
        settings.get("OUTLETS_REGISTRY"), *settings.getlist("EXTRA_OUTLETS")
    )
    check_seeds(seeds, registry)
    return run_process(settings, store.uri)


def use_outlets(settings: Settings, outlets: list[str] | None) -> None:
    if outlets:  # given registries replace the shipped one
        settings.set("OUTLETS_REGISTRY", str(Path(outlets[0]).resolve()), priority="cmdline")
        settings.set("EXTRA_OUTLETS", [str(Path(p).resolve()) for p in outlets[1:]], "cmdline")


def check_new_shared(redis_url: str, crawl_id: str) -> None:
    """Refuse a crawl id that Redis already holds, and a Redis that cannot be reached."""
    try:
        group = CrawlGroup(connect(redis_url), crawl_id)
        if group.fields():
            raise CrawlError(
                f"crawl {crawl_id} is already under way on {redis_url}: choose another --crawl-id"
            )
    except GroupError as exc:
        raise CrawlError(str(exc)) from exc


def run_process(settings: Settings, store_uri: str) -> CrawlSummary:
    """Run the ``cited`` spider with ``settings`` in this process; sum up what it did."""
    crawl_id = settings.get("CRAWL_ID")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(CitedSpider)
    process.crawl(crawler)
    process.start()
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    statuses = Counter(
        {
            int(k.rsplit("/", 1)[1]): v
            for k, v in stats.items()
            if k.startswith("downloader/response_status_count/")
        }
    )
    publisher = crawler.extensions.middlewares
    error = next((getattr(m, "error", None) for m in publisher if getattr(m, "error", None)), None)
    worker = crawler.settings.get("WORKER_ID") or None
    return CrawlSummary(
        crawl_id, store_uri, stats, error=error, statuses=dict(statuses), worker=worker
    )
