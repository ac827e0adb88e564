"""crawler/requisites.py: the one walk over a page finds what the XPaths find, on the same tree.

The XPaths are the specification: the images (tests/fixtures/images.py, which
pipelines/extraction.py finds on trafilatura's lxml tree, tests/test_extraction.py), then
stylesheets, icons and posters, then the URLs of the ``srcset`` attributes.
"""

from __future__ import annotations

import contextlib
import gzip
from pathlib import Path

import pytest
from lxml import etree
from lxml.html import document_fromstring
from scrapy.http import HtmlResponse
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.recent import RecentSet
from crawler.requisites import page_links, page_requisites, requisite_refs
from crawler.spiders.cited import CitedSpider
from pipelines.extraction import extract_page, make_options
from pipelines.images import srcset_urls
from tests.fixtures.images import IMAGE_XPATH, SRCSET_XPATH

SAMPLE = Path(__file__).parent / "data" / "extraction-sample" / "html"

TRICKY = b"""<!doctype html><html><head>
<base href="/base/dir/">
<meta property="og:image" content="og.jpg"><meta name="og:image" content="og-name.jpg">
<meta property="og:image:url" content="og-url.jpg"><meta property="og:image">
<meta name="twitter:image" property="og:image" content="both.jpg">
<meta name="twitter:image:src" content="tw-src.jpg"><meta property="twitter:image" content="tw.jpg">
<link rel="  Stylesheet  " href="not-lowercase.css"><link rel="alternate stylesheet" href="alt.css">
<link rel="stylesheet\ticon" href="tab.css"><link rel="stylesheets" href="no.css">
<link rel="shortcut icon" href="/favicon.ico"><link rel="apple-touch-icon" href="touch.png">
<link rel="stylesheet"><link href="no-rel.css">
</head><body>
<img src="a.jpg" data-src="lazy.jpg" srcset="a-1x.jpg 1x, a-2x.jpg 2x"><img data-src="only-lazy.jpg">
<picture><source srcset="p.webp 100w,p2.webp 200w, p3.webp 300w"><img src="p.jpg"></picture>
<video poster="poster.jpg"><source srcset="not-picture.jpg" src="v.mp4"></video>
<div><source srcset="stray.jpg"></div>
<img src=" spaced.jpg "><img src="data:image/gif;base64,R0lGOD"><img src="#frag">
<a href="/a">a</a><a href="b#x">b</a><a>no href</a><a href="mailto:x@y">m</a>
<!-- <img src="commented.jpg"> -->
</body></html>"""


# rel keywords are ASCII case-insensitive
_REL = "translate(@rel, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
REQUISITE_XPATHS = (
    IMAGE_XPATH,
    f"//link[contains(concat(' ', normalize-space({_REL}), ' '), ' stylesheet ')]/@href",
    f"//link[contains({_REL}, 'icon')]/@href",
    "//video/@poster",
)


def _xpath_refs(tree: etree._Element) -> list[str]:
    refs = [str(v) for xp in REQUISITE_XPATHS for v in tree.xpath(xp)]
    return refs + [url for value in tree.xpath(SRCSET_XPATH) for url in srcset_urls(str(value))]


def _pages() -> list[tuple[str, bytes]]:
    return [("tricky", TRICKY)] + [
        (path.name, gzip.decompress(path.read_bytes())) for path in sorted(SAMPLE.glob("*.gz"))
    ]


def _as_lxml(node: LexborNode) -> etree._Element:
    """An lxml copy of the HTML5 tree under ``node``, for the XPaths to run on."""
    try:
        element = etree.Element(node.tag)
    except ValueError:  # a tag that is no XML name: kept, its children too
        element = etree.Element("x-not-a-name")
    for name, value in node.attributes.items():
        with contextlib.suppress(ValueError):  # an attribute name that is no XML name
            element.set(name, value or "")
    for child in node.iter(include_text=False):
        if not child.tag.startswith(("-", "!")):  # comments, the doctype
            element.append(_as_lxml(child))
    return element


@pytest.mark.parametrize(("name", "body"), _pages(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_walk_finds_what_the_xpaths_find_in_the_same_order(name: str, body: bytes) -> None:
    tree = LexborHTMLParser(body.decode("utf-8", "replace"))
    assert tree.root is not None
    assert requisite_refs(tree) == _xpath_refs(_as_lxml(tree.root))


def test_sources_of_a_picture_are_all_found() -> None:
    """libxml2, not knowing <source> is empty, put each source inside the one before."""
    page = '<picture><source srcset="a.jpg"><source srcset="b.jpg 2x"><img src="c.jpg"></picture>'
    assert requisite_refs(LexborHTMLParser(page)) == ["c.jpg", "a.jpg", "b.jpg"]
    assert _xpath_refs(document_fromstring(page)) == ["c.jpg", "a.jpg"]  # what lxml saw


def test_tricky_page_requisites_and_links() -> None:
    url = "http://127.0.0.1/news/page.html"
    response = HtmlResponse(url, body=TRICKY)
    base = "http://127.0.0.1/base/dir/"
    assert page_requisites(response) == [
        base + name
        for name in [
            "og.jpg", "og-name.jpg", "og-url.jpg", "both.jpg", "tw-src.jpg", "tw.jpg",
            "a.jpg", "lazy.jpg", "only-lazy.jpg", "p.jpg", "spaced.jpg",
            "not-lowercase.css", "alt.css", "tab.css",
        ]
    ] + [
        "http://127.0.0.1/favicon.ico", base + "touch.png", base + "poster.jpg",
        *(base + n for n in ["a-1x.jpg", "a-2x.jpg", "p.webp", "p2.webp", "p3.webp"]),
    ]  # fmt: skip
    assert page_links(response) == ["http://127.0.0.1/a", base + "b"]


SAMPLE_PAGES = _pages()[1:]
FAST = make_options(fast=True)


@pytest.mark.parametrize(
    "body", [body for _, body in SAMPLE_PAGES], ids=[n[:8] for n, _ in SAMPLE_PAGES]
)
def test_the_crawl_fetches_every_image_the_dataset_lists(body: bytes) -> None:
    """Two parsers, one definition of a page's images (pipelines/images.py)."""
    url = "https://news.example/section/page.html"
    images = extract_page(body, url, "text/html", options=FAST).images
    assert images
    assert set(images) <= set(page_requisites(HtmlResponse(url, body=body)))


def test_a_page_in_a_legacy_encoding_writes_its_queries_in_it() -> None:
    body = '<meta charset="windows-1252"><img src="/café.jpg?q=é"><a href="?q=ü">ü</a>'
    response = HtmlResponse("http://127.0.0.1/page.html", body=body.encode("cp1252"))
    assert page_requisites(response) == ["http://127.0.0.1/caf%C3%A9.jpg?q=%E9"]
    assert page_links(response) == ["http://127.0.0.1/page.html?q=%FC"]


def test_the_first_base_with_an_href_counts_wherever_it_is() -> None:
    body = f"<p>{'x' * 5000}</p><base target=_top><base href=/b/><base href=/c/><img src=i.png>"
    response = HtmlResponse("http://127.0.0.1/a/page.html", body=body.encode())
    assert page_requisites(response) == ["http://127.0.0.1/b/i.png"]


def test_urls_that_cannot_be_requested_are_left_out() -> None:
    body = b'<img src="http://[::1/x.png"><img src="http://a.test:99999/y.png"><a href="http://a.test:x/">'
    response = HtmlResponse("http://127.0.0.1/page.html", body=body)
    assert page_requisites(response) == []
    assert page_links(response) == []


@pytest.mark.parametrize(
    ("srcset", "urls"),
    [
        ("a.jpg 1x, b.jpg 2x", ["a.jpg", "b.jpg"]),
        ("p.webp 100w,p2.webp 200w, p3.webp 300w", ["p.webp", "p2.webp", "p3.webp"]),
        ("data:image/png;base64,AAA= 1x, b.jpg 2x", ["data:image/png;base64,AAA=", "b.jpg"]),
        ("a.jpg,b.jpg", ["a.jpg,b.jpg"]),  # one URL: no space, no descriptor
        (",,a.jpg,, b.jpg", ["a.jpg", "b.jpg"]),
        (" x.jpg (a,b) 1x,\ty.jpg", ["x.jpg", "y.jpg"]),
        ("  ", []),
    ],
)
def test_srcset_urls_as_html_parses_them(srcset: str, urls: list[str]) -> None:
    assert srcset_urls(srcset) == urls


def test_recent_set_forgets_what_it_saw_longest_ago() -> None:
    seen = RecentSet(2)
    assert seen.add("logo.png") and seen.add("a.jpg")
    assert not seen.add("logo.png")  # seen again: now the most recent
    assert seen.add("b.jpg")  # forgets a.jpg, not logo.png
    assert "logo.png" in seen and "a.jpg" not in seen and len(seen) == 2
    assert seen.add("a.jpg")
    with pytest.raises(ValueError, match="size must be 1 or more"):
        RecentSet(0)


def _page(url: str, *images: str) -> HtmlResponse:
    imgs = "".join(f'<img src="{src}">' for src in images)
    body = f'<html><head><link rel="stylesheet" href="/site.css"></head><body>{imgs}</body>'
    return HtmlResponse(url, body=body.encode(), encoding="utf-8")


def test_spider_asks_once_for_what_pages_share() -> None:
    spider = CitedSpider()
    first = [r.url for r in spider.requisites(_page("http://a.test/1", "/logo.png", "/1.jpg"))]
    second = [r.url for r in spider.requisites(_page("http://a.test/2", "/logo.png", "/2.jpg"))]
    assert first == ["http://a.test/logo.png", "http://a.test/1.jpg", "http://a.test/site.css"]
    assert second == ["http://a.test/2.jpg"]
    # what it has forgotten goes to the dupefilter again, as every request did before
    spider.requested = RecentSet(1)
    spider.requested.add("http://a.test/2.jpg")
    again = [r.url for r in spider.requisites(_page("http://a.test/3", "/logo.png"))]
    assert again == ["http://a.test/logo.png", "http://a.test/site.css"]
