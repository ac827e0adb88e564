"""Finds what a page needs to be seen as it was (images, stylesheets, icons) and its links.

Requisites: ``img src``/``srcset``, ``picture source srcset``, ``og:image`` and
``twitter:image`` meta, stylesheets and icons. Links: ``a href`` (http and https
only, fragments dropped).
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag

from scrapy.http import TextResponse

_SRCSET_SPLIT = re.compile(r",\s+")

REQUISITE_XPATHS = (
    "//img/@src",
    "//img/@data-src",
    "//meta[@property='og:image' or @name='og:image']/@content",
    "//meta[@property='og:image:url']/@content",
    "//meta[@name='twitter:image' or @property='twitter:image']/@content",
    "//meta[@name='twitter:image:src']/@content",
    "//link[contains(concat(' ', normalize-space(@rel), ' '), ' stylesheet ')]/@href",
    "//link[contains(@rel, 'icon')]/@href",
    "//video/@poster",
)
SRCSET_XPATHS = ("//img/@srcset", "//picture/source/@srcset")


def srcset_urls(srcset: str) -> list[str]:
    """The URLs of a ``srcset`` attribute (``a.jpg 1x, b.jpg 2x``)."""
    urls = []
    for candidate in _SRCSET_SPLIT.split(srcset.strip()):
        url = candidate.strip().split(" ", 1)[0].strip().rstrip(",")
        if url:
            urls.append(url)
    return urls


def _absolute(response: TextResponse, refs: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for ref in refs:
        ref = ref.strip()
        if not ref or ref.startswith(("data:", "javascript:", "mailto:", "#")):
            continue
        url = urldefrag(response.urljoin(ref))[0]
        if url.startswith(("http://", "https://")):
            seen.setdefault(url, None)
    return list(seen)


def page_requisites(response: TextResponse) -> list[str]:
    refs = [v for xp in REQUISITE_XPATHS for v in response.xpath(xp).getall()]
    for xp in SRCSET_XPATHS:
        for srcset in response.xpath(xp).getall():
            refs.extend(srcset_urls(srcset))
    return _absolute(response, refs)


def page_images(response: TextResponse) -> list[str]:
    """The images a page shows or announces (for the dataset's ``images`` column)."""
    refs = response.xpath(
        "//img/@src | //meta[@property='og:image' or @name='twitter:image']/@content"
    ).getall()
    for xp in SRCSET_XPATHS:
        for srcset in response.xpath(xp).getall():
            refs.extend(srcset_urls(srcset))
    return _absolute(response, refs)


def page_links(response: TextResponse) -> list[str]:
    return _absolute(response, response.xpath("//a/@href").getall())
