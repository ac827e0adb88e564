"""Stores, layout and manifests of a scrubwatch archive: plain Python, no Scrapy.

The crawler publishes into a store through this package, and the CLI and later
tools read the corpus through it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from storage.errors import StoreConflict, StoreError, StoreMissing
from storage.layout import (
    crawl_exists,
    crawl_log_key,
    crawl_prefix,
    index_key,
    list_crawl_ids,
    manifest_key,
    new_crawl_id,
    staged_files,
    text_key,
    validate_crawl_id,
    warc_key,
)
from storage.manifest import Manifest, build_manifest, load_manifest, write_manifest
from storage.stores import STORE_SCHEMES, Store, open_store
from storage.verify import Problem, verify_store

try:
    __version__ = version("scrubwatch")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0"

__all__ = [
    "STORE_SCHEMES",
    "Manifest",
    "Problem",
    "Store",
    "StoreConflict",
    "StoreError",
    "StoreMissing",
    "build_manifest",
    "crawl_exists",
    "crawl_log_key",
    "crawl_prefix",
    "index_key",
    "list_crawl_ids",
    "load_manifest",
    "manifest_key",
    "new_crawl_id",
    "open_store",
    "staged_files",
    "text_key",
    "validate_crawl_id",
    "verify_store",
    "warc_key",
    "write_manifest",
]
