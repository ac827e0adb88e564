"""Debug messages that nobody will see are not made at all.

Scrapy's root handler filters by ``LOG_LEVEL`` but leaves the root logger at NOTSET, so
each ``logger.debug`` of Scrapy's (one "Crawled" per response, one "Scraped from" per
item) and of ``charset_normalizer`` builds a record, finds its caller and formats it,
and the handler then drops it (bench/README.md has what it costs a crawl). Setting the
level on those loggers makes such calls return at once. Our own handlers and pytest's
``caplog`` are untouched: only these named loggers change, and only above DEBUG.
"""

from __future__ import annotations

import logging

#: Loggers whose debug messages come per response or per item.
CHATTY = ("scrapy", "charset_normalizer", "twisted", "asyncio")


def skip_unlogged(level: str | int) -> None:
    """Give the chatty loggers the crawl's ``LOG_LEVEL`` when that is above DEBUG."""
    number = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if isinstance(number, int) and number > logging.DEBUG:
        for name in CHATTY:
            logging.getLogger(name).setLevel(number)
