"""Joins a crawl shared over Redis as one more worker: ``scrubwatch worker``.

The coordinator (``scrubwatch crawl --redis``) recorded in Redis what the crawl is:
its store, seeds, depth and robots.txt policy. A worker takes those, so every
worker crawls alike; what stays local is what belongs to the machine: whether private
addresses may be fetched, the outlet registry, Scrapy settings given with ``-s``.
Everything is checked before the worker starts: Redis reachable, the crawl running,
the same store as the coordinator's, not closed already. A worker started before its
coordinator waits up to ``FRONTIER_JOIN_TIMEOUT`` seconds for the crawl to start.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis import RedisError

from crawler.browser.chromium import check_browser
from crawler.crawl import early_setting, project_settings, run_process, use_outlets
from crawler.summary import CrawlError, CrawlSummary
from storage import manifest_key, open_store, validate_crawl_id
from storage.crawlgroup import RUNNING, CrawlGroup, GroupError, connect
from storage.sharedcrawl import WORKER
from storage.stores import store_identity


def shared_crawl(redis_url: str, crawl_id: str, wait: float = 0) -> dict[str, str]:
    """What the coordinator recorded for ``crawl_id``; CrawlError unless it is running.

    A crawl that has not started yet is waited for, at most ``wait`` seconds.
    """
    end = time.monotonic() + wait
    try:
        group = CrawlGroup(connect(redis_url), crawl_id)
        while not (fields := group.fields()) and time.monotonic() < end:
            time.sleep(0.2)
    except (GroupError, RedisError) as exc:
        raise CrawlError(str(exc)) from exc
    if fields.get("status") != RUNNING:
        state = f"is {fields['status']}" if fields else "is not running"
        raise CrawlError(
            f"crawl {crawl_id} {state} on {redis_url}: start it with "
            "scrubwatch crawl --redis; workers join while it runs"
        )
    return fields


def run_worker(
    redis_url: str,
    store_uri: str,
    crawl_id: str,
    *,
    allow_private: bool = False,
    outlets: list[str] | None = None,
    browser: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> CrawlSummary:
    """Take part in the shared crawl ``crawl_id`` until it has no work left; publish.

    ``browser`` sets ``BROWSER_MODE`` for the pages this worker crawls.
    """
    crawl_id = validate_crawl_id(crawl_id)
    if browser is not None:
        overrides = {**(overrides or {}), "BROWSER_MODE": browser}
    early = project_settings(overrides)
    check_browser(early)
    wait = early_setting(early, "FRONTIER_JOIN_TIMEOUT", "float")
    fields = shared_crawl(redis_url, crawl_id, wait)
    store = open_store(store_uri)
    store.check_writable()
    if store_identity(store) != fields.get("store"):
        raise CrawlError(
            f"crawl {crawl_id} goes into store {fields.get('store')}, not {store_identity(store)}: "
            "give every worker the coordinator's store"
        )
    if store.exists(manifest_key(crawl_id)):
        raise CrawlError(f"crawl {crawl_id} is closed already in store {store.uri}")
    settings = project_settings(
        {
            "SEEDS": json.loads(fields.get("seeds", "[]")),
            "STORE_URI": store_uri,
            "CRAWL_ID": crawl_id,
            "CRAWL_DEPTH": int(fields.get("depth", "0")),
            "ROBOTSTXT_OBEY": fields.get("robots") != "ignore",
            "SSRF_ALLOW_PRIVATE": allow_private,
            "REDIS_URL": redis_url,
            "FRONTIER_ROLE": WORKER,
            **(overrides or {}),
        }
    )
    use_outlets(settings, outlets)
    return run_process(settings, store.uri)
