"""scrubwatch's Scrapy project: settings, the ``cited`` spider, middlewares, seeds, CLI."""

from __future__ import annotations

from storage import __version__

__all__ = ["__version__"]
