"""A page's links made absolute: one set of rules for the crawl, the seeds and the dataset.

The crawl's requisites and links (:mod:`crawler.requisites`), the citations of a seed
page (:mod:`crawler.seeds`) and the dataset's links and images
(:mod:`pipelines.extraction`) all resolve what a page writes with
:func:`absolute_url`, against the base :func:`base_url` gives: surrounding whitespace
stripped, the fragment dropped, the result web-safe (:func:`w3lib.url.safe_url_string`,
the form Scrapy requests), and only http(s) URLs with a host kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urldefrag, urljoin, urlsplit

from w3lib.url import safe_url_string

# URLs that safe_url_string returns unchanged (tests/test_urls.py checks it): most of a
# page's links, spared its cost, which is half again that of resolving them.
_ALREADY_SAFE = re.compile(
    r"https?://[a-z0-9.-]+(?::[1-9][0-9]{0,3})?/[-A-Za-z0-9._~!$&'()*+,;=:@/%]*"
    r"(?:\?[-A-Za-z0-9._~!$&()*+,;=:@/?%]+)?"
)


def base_url(page_url: str, base_href: str | None) -> str:
    """What a page's relative URLs resolve against: its ``<base href>``, else its own URL.

    ``base_href``: the ``href`` of the page's first ``base`` element that has one (an
    empty one leaves the page's URL, as in browsers).
    """
    href = (base_href or "").strip()
    return urljoin(page_url, href) if href else page_url


def absolute_url(base: str, href: str, encoding: str = "utf-8") -> str | None:
    """``href`` resolved against ``base``, without its fragment, web-safe; None unless an
    http(s) URL with a host.

    ``encoding``: the page's, for the query (as browsers encode it, and Scrapy's
    ``response.follow``; UTF-8 for a page in UTF-16). A reference to the page itself
    (``#top``) is None.
    """
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = urldefrag(urljoin(base, href))[0]
        if _ALREADY_SAFE.fullmatch(url):
            return url
        if not url[:8].lower().startswith(("http://", "https://")):
            return None
        url = safe_url_string(url, _query_encoding(encoding))
        return url if urlsplit(url).hostname else None
    except ValueError:  # a malformed host or port
        return None


def absolute_urls(base: str, hrefs: Iterable[str], encoding: str = "utf-8") -> list[str]:
    """:func:`absolute_url` of each of ``hrefs``, each URL once, in order."""
    found: dict[str, None] = {}
    for href in hrefs:
        if (url := absolute_url(base, href, encoding)) is not None:
            found[url] = None
    return list(found)


def _query_encoding(encoding: str) -> str:
    return "utf-8" if encoding.lower().replace("_", "-").startswith("utf-16") else encoding
