"""Scrapy add-on that fixes the crawl's identity before any component is built.

``CRAWL_ID`` defaults to the UTC start time and ``STAGING_DIR`` to a folder beside
the store; resolving them here, once, means the WARC writer, the crawl log and
the publisher all agree on them. Enabled in ``ADDONS`` in :mod:`crawler.settings`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from storage import layout, open_store

if TYPE_CHECKING:
    from scrapy.settings import Settings

STAGING_FOLDER = layout.STAGING_DIRNAME


def default_staging_dir(store_uri: str) -> Path:
    """Where files wait before they are put into the store."""
    root = open_store(store_uri).local_root
    if root is not None:
        return root / STAGING_FOLDER
    return Path.home() / ".cache" / "scrubwatch" / "staging"


class CrawlIdentity:
    def update_settings(self, settings: Settings) -> None:
        crawl_id = settings.get("CRAWL_ID") or layout.new_crawl_id(datetime.now(UTC))
        settings.set("CRAWL_ID", layout.validate_crawl_id(crawl_id), priority="addon")
        if not settings.get("STAGING_DIR"):
            staging = default_staging_dir(settings.get("STORE_URI"))
            settings.set("STAGING_DIR", str(staging), priority="addon")


def crawl_staging(settings: Settings) -> Path:
    """The staged copy of this crawl's folder (it mirrors the store's layout)."""
    return Path(settings.get("STAGING_DIR")) / layout.crawl_prefix(settings.get("CRAWL_ID"))
