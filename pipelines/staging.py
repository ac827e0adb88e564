"""Where this crawl's files wait, in the staging folder, until they are put into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage.layout import local_path, staged_crawl, staged_indexes, staged_warcs

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


def staging_root(settings: BaseSettings) -> Path:
    """The staging folder (``STAGING_DIR``, set by :class:`crawler.addon.CrawlIdentity`
    before any component is built); :mod:`storage.layout` says where a file goes in it."""
    return Path(settings.get("STAGING_DIR"))


def crawl_staging(settings: BaseSettings) -> Path:
    """The staged copy of the crawl's folder (``STAGING_DIR``, ``CRAWL_ID``)."""
    return staged_crawl(staging_root(settings), settings.get("CRAWL_ID"))


def warc_staging(settings: BaseSettings) -> Path:
    """The folder the crawl's WARC files are staged in."""
    return staged_warcs(staging_root(settings), settings.get("CRAWL_ID"))


def index_staging(settings: BaseSettings) -> Path:
    """The folder the crawl's index files are staged in."""
    return staged_indexes(staging_root(settings), settings.get("CRAWL_ID"))


def staged_file(settings: BaseSettings, key: str) -> Path:
    """Where the store's file ``key`` is staged."""
    return local_path(staging_root(settings), key)
