"""What a page's images are: one set of rules for the crawl and for the dataset.

An image is what an ``img`` names (``src``, ``data-src``, ``srcset``), what a ``source``
of a ``picture`` names (``srcset``), and what an ``og:image``, ``og:image:url``,
``twitter:image`` or ``twitter:image:src`` meta tag names (``content``). The crawl
fetches them as requisites (:mod:`crawler.requisites`, on the page's HTML5 tree) and
the dataset lists them (:mod:`pipelines.extraction`, on trafilatura's lxml tree): each
walks its own tree and hands every element of :data:`IMAGE_TAGS` to :class:`PageImages`.
"""

from __future__ import annotations

from collections.abc import Mapping

IMAGE_TAGS = ("img", "meta", "source")
_IMG_URLS = frozenset({"src", "data-src"})
# (attribute, value) of the meta tags whose content names an image, as Open Graph and
# Twitter cards write them
_IMAGE_META = (
    ("property", "og:image"),
    ("name", "og:image"),
    ("property", "og:image:url"),
    ("name", "twitter:image"),
    ("property", "twitter:image"),
    ("name", "twitter:image:src"),
)
_HTML_SPACE = " \t\n\r\f"
_SRCSET_GAP = _HTML_SPACE + ","


class PageImages:
    """A page's images as it writes them (relative or not), element by element.

    ``refs``: the ``img`` URLs and meta ``content`` in document order (an element's
    attributes in their order); ``srcsets``: the ``srcset`` values, in document order.
    """

    def __init__(self) -> None:
        self.refs: list[str] = []
        self.srcsets: list[str] = []

    def add(self, tag: str, attributes: Mapping[str, str], in_picture: bool = False) -> None:
        """One element of :data:`IMAGE_TAGS`; ``in_picture``: the element's parent is a
        ``picture`` (as the HTML standard parses the page)."""
        if tag == "img":
            for name, value in attributes.items():
                if name in _IMG_URLS:
                    self.refs.append(value)
                elif name == "srcset":
                    self.srcsets.append(value)
        elif tag == "meta":
            content = attributes.get("content")
            if content is not None and any(attributes.get(a) == v for a, v in _IMAGE_META):
                self.refs.append(content)
        elif tag == "source" and in_picture and (srcset := attributes.get("srcset")) is not None:
            self.srcsets.append(srcset)

    def srcset_urls(self) -> list[str]:
        """The URLs of the ``srcset`` values, in order."""
        return [url for srcset in self.srcsets for url in srcset_urls(srcset)]

    def urls(self) -> list[str]:
        """Every image reference: ``refs``, then the URLs of the ``srcsets``."""
        return self.refs + self.srcset_urls()


def srcset_urls(srcset: str) -> list[str]:
    """The URLs of a ``srcset`` attribute (``a.jpg 1x, b.jpg 2x``), as HTML parses it.

    A candidate is a URL (a run without whitespace; commas at its end close it) then
    descriptors up to the next comma outside parentheses, so ``a.jpg 1x,b.jpg 2x`` is
    two URLs and a ``data:`` URL keeps its comma.
    """
    urls = []
    pos, end = 0, len(srcset)
    while pos < end:
        while pos < end and srcset[pos] in _SRCSET_GAP:
            pos += 1
        start = pos
        while pos < end and srcset[pos] not in _HTML_SPACE:
            pos += 1
        url = srcset[start:pos]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # descriptors, to the comma that ends the candidate
            depth = 0
            while pos < end and (srcset[pos] != "," or depth):
                if srcset[pos] == "(":
                    depth += 1
                elif srcset[pos] == ")" and depth:
                    depth -= 1
                pos += 1
        if url:
            urls.append(url)
    return urls
