"""scrubwatch's Scrapy project: settings, the ``cited`` spider, middlewares, seeds, CLI."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scrubwatch")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0"
