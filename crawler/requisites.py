"""Finds what a page needs to be seen as it was (images, stylesheets, icons) and its links.

Requisites: the page's images (:mod:`pipelines.images`: ``img``, a picture's
``source``, ``og:image`` and ``twitter:image`` meta), then its stylesheets, icons and
video posters, then the URLs of its ``srcset`` attributes. Links: ``a href``. Both are
resolved by :func:`pipelines.urls.absolute_url`: http(s) only, fragments dropped,
each URL once.

The page is parsed as browsers parse it, by the HTML5 parser Lexbor (selectolax):
libxml2's HTML 4 parser, which lxml and parsel use, does not know that ``<source>`` is
empty, so in ``<picture><source srcset=a><source srcset=b><img></picture>`` it puts the
second source inside the first; Lexbor also parses a page in half the time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborHTMLParser, LexborNode

from pipelines.images import IMAGE_TAGS, PageImages
from pipelines.urls import absolute_urls, base_url

if TYPE_CHECKING:
    from scrapy.http import TextResponse

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_XML_SPACE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() collapses


def requisite_refs(tree: LexborHTMLParser) -> list[str]:
    """The page's requisites as it writes them: images, stylesheets, icons, posters, srcsets.

    One walk over the page's ``img``, ``meta``, ``link``, ``video`` and ``source``
    elements; each kind in document order. ``tests/test_requisites.py`` checks it
    against XPaths run on the same tree.
    """
    images = PageImages()
    stylesheets: list[str] = []
    icons: list[str] = []
    posters: list[str] = []
    for element in tree.css("img, meta, link, video, source"):
        # an attribute without a value (<img src>) is the empty string, as in the DOM
        attributes = {name: value or "" for name, value in element.attributes.items()}
        tag = element.tag
        if tag in IMAGE_TAGS:
            images.add(tag, attributes, tag == "source" and _parent_tag(element) == "picture")
        elif tag == "link":
            if (href := attributes.get("href")) is None or (rel := attributes.get("rel")) is None:
                continue
            rel = rel.translate(_ASCII_LOWER)  # rel keywords are ASCII case-insensitive
            if "stylesheet" in _XML_SPACE.split(rel.strip(" \t\r\n")):
                stylesheets.append(href)
            if "icon" in rel:
                icons.append(href)
        elif tag == "video" and (poster := attributes.get("poster")) is not None:
            posters.append(poster)
    return images.refs + stylesheets + icons + posters + images.srcset_urls()


def _parent_tag(element: LexborNode) -> str | None:
    parent = element.parent
    return parent.tag if parent is not None else None


def html_tree(response: TextResponse) -> LexborHTMLParser:
    """The page's tree, as a browser's HTML5 parser builds it."""
    return LexborHTMLParser(response.text)


def page_base(response: TextResponse, tree: LexborHTMLParser) -> str:
    """What the page's relative URLs resolve against (its first ``<base href>``)."""
    base = tree.css_first("base[href]")
    return base_url(response.url, base.attributes.get("href") if base is not None else None)


def page_requisites(response: TextResponse, tree: LexborHTMLParser | None = None) -> list[str]:
    """The requisites' absolute URLs; ``tree``: the page parsed by :func:`html_tree`."""
    tree = tree if tree is not None else html_tree(response)
    return absolute_urls(page_base(response, tree), requisite_refs(tree), response.encoding)


def page_links(response: TextResponse, tree: LexborHTMLParser | None = None) -> list[str]:
    """The absolute URLs of the page's links; ``tree`` as for :func:`page_requisites`."""
    tree = tree if tree is not None else html_tree(response)
    hrefs = [a.attributes.get("href") or "" for a in tree.css("a[href]")]
    return absolute_urls(page_base(response, tree), hrefs, response.encoding)
