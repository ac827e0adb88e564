"""Finds what a page needs to be seen as it was (images, stylesheets, icons) and its links.

Requisites: ``img src``/``srcset``, ``picture source srcset``, ``og:image`` and
``twitter:image`` meta, stylesheets and icons. Links: ``a href`` (http and https
only, fragments dropped).

The page is parsed as browsers parse it, by the HTML5 parser Lexbor (selectolax):
libxml2's HTML 4 parser, which lxml and parsel use, does not know that ``<source>`` is
empty, so in ``<picture><source srcset=a><source srcset=b><img></picture>`` it puts the
second source inside the first and the picture's other images were missed; Lexbor also
parses a page in half the time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urldefrag

from selectolax.lexbor import LexborHTMLParser

from pipelines.srcset import srcset_urls

if TYPE_CHECKING:
    from scrapy.http import TextResponse

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_XML_SPACE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() collapses

# rel keywords are ASCII case-insensitive
_REL = "translate(@rel, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
REQUISITE_XPATHS = (
    "//img/@src",
    "//img/@data-src",
    "//meta[@property='og:image' or @name='og:image']/@content",
    "//meta[@property='og:image:url']/@content",
    "//meta[@name='twitter:image' or @property='twitter:image']/@content",
    "//meta[@name='twitter:image:src']/@content",
    f"//link[contains(concat(' ', normalize-space({_REL}), ' '), ' stylesheet ')]/@href",
    f"//link[contains({_REL}, 'icon')]/@href",
    "//video/@poster",
)
SRCSET_XPATHS = ("//img/@srcset", "//picture/source/@srcset")


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


def _rel_words(rel: str) -> list[str]:
    return _XML_SPACE.split(rel.strip(" \t\r\n"))


def requisite_refs(tree: LexborHTMLParser) -> list[str]:
    """What :data:`REQUISITE_XPATHS` then :data:`SRCSET_XPATHS` select, in that order.

    One walk over the page's ``img``, ``meta``, ``link``, ``video`` and ``source``
    elements instead of eleven XPath queries (each a walk over the whole tree): a tenth
    of a crawl's CPU on news pages. ``tests/test_requisites.py`` checks it against the
    XPaths, run on the same tree.
    """
    found: list[list[str]] = [[] for _ in range(len(REQUISITE_XPATHS) + len(SRCSET_XPATHS))]
    for element in tree.css("img, meta, link, video, source"):
        # an attribute without a value (<img src>) is the empty string, as in the DOM
        attributes: dict[str, str] = {
            name: value or "" for name, value in element.attributes.items()
        }
        get = attributes.get
        tag = element.tag
        if tag == "img":
            for number, attribute in ((0, "src"), (1, "data-src"), (9, "srcset")):
                if (value := get(attribute)) is not None:
                    found[number].append(value)
        elif tag == "meta":
            if (content := get("content")) is None:
                continue
            prop, name = get("property"), get("name")
            if prop == "og:image" or name == "og:image":
                found[2].append(content)
            if prop == "og:image:url":
                found[3].append(content)
            if name == "twitter:image" or prop == "twitter:image":
                found[4].append(content)
            if name == "twitter:image:src":
                found[5].append(content)
        elif tag == "link":
            if (href := get("href")) is None or (rel := get("rel")) is None:
                continue
            rel = rel.translate(_ASCII_LOWER)
            if "stylesheet" in _rel_words(rel):
                found[6].append(href)
            if "icon" in rel:
                found[7].append(href)
        elif tag == "video":
            if (poster := get("poster")) is not None:
                found[8].append(poster)
        elif (srcset := get("srcset")) is not None:  # source
            parent = element.parent
            if parent is not None and parent.tag == "picture":
                found[10].append(srcset)
    refs = [ref for refs in found[: len(REQUISITE_XPATHS)] for ref in refs]
    for values in found[len(REQUISITE_XPATHS) :]:
        refs += [url for value in values for url in srcset_urls(value)]
    return refs


def html_tree(response: TextResponse) -> LexborHTMLParser:
    """The page's tree, as a browser's HTML5 parser builds it."""
    return LexborHTMLParser(response.text)


def page_requisites(response: TextResponse, tree: LexborHTMLParser | None = None) -> list[str]:
    """The requisites' absolute URLs; ``tree``: the page parsed by :func:`html_tree`."""
    return _absolute(response, requisite_refs(tree if tree is not None else html_tree(response)))


def page_links(response: TextResponse, tree: LexborHTMLParser | None = None) -> list[str]:
    """The absolute URLs of the page's links; ``tree`` as for :func:`page_requisites`."""
    anchors = (tree if tree is not None else html_tree(response)).css("a[href]")
    return _absolute(response, [a.attributes.get("href") or "" for a in anchors])
