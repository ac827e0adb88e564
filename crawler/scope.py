"""What the crawl may follow: the registered domain of a URL, public-suffix aware.

Uses tldextract's bundled Public Suffix List snapshot and never fetches a fresh
one, so crawls behave the same offline and online. An IP address is its own
domain.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from crawler.addresses import parse_ip_literal

_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registered_domain(url: str) -> str:
    """``https://www.smh.com.au/x`` -> ``smh.com.au``; ``http://127.0.0.2:80/`` -> ``127.0.0.2``."""
    return _host_domain((urlsplit(url).hostname or "").rstrip(".").lower())


# Cached by host, not by URL: a crawl meets a few hosts and a great many URLs.
@lru_cache(maxsize=4096)
def _host_domain(host: str) -> str:
    if not host:
        return ""
    if parse_ip_literal(host) is not None:
        return host
    parts = _extract(host)
    return parts.top_domain_under_public_suffix or host


def same_site(url: str, other: str) -> bool:
    return registered_domain(url) == registered_domain(other) != ""
