"""The crawl's Scrapy add-ons, enabled in ``ADDONS`` in :mod:`crawler.settings`.

:class:`CrawlIdentity` fixes the crawl's identity before any component is built:
``CRAWL_ID`` defaults to the UTC start time and ``STAGING_DIR`` to a folder beside
the store; resolving them here, once, means the WARC writer, the crawl log and the
publisher all agree on them. :class:`SharedFrontier` makes the process one worker of
a crawl shared over Redis when ``REDIS_URL`` is set (:mod:`crawler.frontier`); without
it, neither Redis's client nor scrapy-redis is imported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.settings import get_settings_priority

from storage import layout, open_store
from storage.sharedcrawl import COORDINATOR, WORKER

if TYPE_CHECKING:
    from scrapy.settings import Settings


def resolve_setting(settings: Settings, name: str, value: Any) -> None:
    """Set ``name`` to the value an add-on resolved for it.

    At ``addon`` priority at least, and at the priority it had: an add-on runs after
    the project's settings module (a higher priority), whose empty defaults it fills.
    """
    priority = max(settings.getpriority(name) or 0, get_settings_priority("addon"))
    settings.set(name, value, priority=priority)


class CrawlIdentity:
    def update_settings(self, settings: Settings) -> None:
        crawl_id = settings.get("CRAWL_ID") or layout.new_crawl_id(datetime.now(UTC))
        resolve_setting(settings, "CRAWL_ID", layout.validate_crawl_id(crawl_id))
        if not settings.get("STAGING_DIR"):
            staging = layout.default_staging_dir(open_store(settings.get("STORE_URI")))
            resolve_setting(settings, "STAGING_DIR", str(staging))


class SharedFrontier:
    """Add-on: with ``REDIS_URL``, this process is one worker of a crawl shared over Redis."""

    def update_settings(self, settings: Settings) -> None:
        if not settings.get("REDIS_URL"):
            return
        from crawler.frontier import FrontierIdle
        from pipelines.publish import PublishCrawl
        from pipelines.publishshared import SharedPublish
        from pipelines.warcfile import default_host

        if settings.get("FRONTIER_ROLE") not in (COORDINATOR, WORKER):
            raise ValueError(f"FRONTIER_ROLE must be {COORDINATOR} or {WORKER}")
        worker = layout.validate_worker(settings.get("WORKER_ID") or default_host())
        resolve_setting(settings, "WORKER_ID", worker)
        # Workers on one machine must not publish each other's staged files.
        staging = layout.worker_staging(Path(settings.get("STAGING_DIR")), worker)
        resolve_setting(settings, "STAGING_DIR", str(staging))
        resolve_setting(settings, "SCHEDULER", "crawler.frontier.SharedScheduler")
        resolve_setting(settings, "DUPEFILTER_CLASS", "crawler.sharedqueue.SharedDupeFilter")
        settings.replace_in_component_priority_dict("EXTENSIONS", PublishCrawl, SharedPublish)
        settings.set_in_component_priority_dict("EXTENSIONS", FrontierIdle, 300)
