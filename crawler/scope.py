"""What the crawl may follow: the registered domain of a URL, public-suffix aware.

Uses tldextract's bundled Public Suffix List snapshot and never fetches a fresh one
(no suffix-list URLs, no cache directory: no network, no disk), so crawls and the outlet
registry (:mod:`crawler.outlets`) behave the same offline and online. An IP address is
its own domain.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from crawler.addresses import parse_ip_literal

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registered_domain(url_or_host: str) -> str:
    """The registered domain of a URL or a host name; ``""`` for a URL without a host.

    ``https://www.smh.com.au/x`` -> ``smh.com.au``, ``www.bbc.co.uk`` -> ``bbc.co.uk``.
    An IP address is its own domain, written the one way :mod:`ipaddress` writes it
    (``http://[::1]:8080/`` -> ``::1``, ``http://0x7f.1/`` -> ``127.0.0.1``: a resolver
    reads that as an address, see :func:`crawler.addresses.parse_ip_literal`); a host
    without a public suffix (``localhost``) is its own domain.
    """
    host: str | None = url_or_host
    if "//" in url_or_host:
        try:
            host = urlsplit(url_or_host).hostname
        except ValueError:  # e.g. a malformed IPv6 literal
            return ""
    return _host_domain((host or "").strip("[]").rstrip(".").lower())


# Cached by host, not by URL: a crawl meets a few hosts and a great many URLs.
@lru_cache(maxsize=4096)
def _host_domain(host: str) -> str:
    if not host:
        return ""
    if (address := parse_ip_literal(host)) is not None:
        return str(address)
    return _EXTRACT(host).top_domain_under_public_suffix or host


def same_site(url: str, other: str) -> bool:
    """Whether two URLs have the same registered domain (and have one)."""
    return registered_domain(url) == registered_domain(other) != ""
