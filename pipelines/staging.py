"""Where this crawl's files wait, in the staging folder, until they are put into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage.layout import staged_crawl

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


def crawl_staging(settings: BaseSettings) -> Path:
    """The staged copy of the crawl's folder (``STAGING_DIR``, ``CRAWL_ID``, set by
    :class:`crawler.addon.CrawlIdentity` before any component is built)."""
    return staged_crawl(Path(settings.get("STAGING_DIR")), settings.get("CRAWL_ID"))
