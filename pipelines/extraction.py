"""Text extraction of one HTML page with trafilatura.

:func:`extract_page` decodes the payload to text itself (BOM, then the charset of the
header or the page, then UTF-8, then detection), parses it once, makes the links of the
tree absolute against the page's own base (trafilatura would resolve them against the
host only) and runs trafilatura's ``bare_extraction`` with one options object built at
start. :class:`~pipelines.extractpool.ExtractorPool` runs it in worker processes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import py3langid
import trafilatura
from lxml.etree import strip_tags
from lxml.html import HtmlElement
from trafilatura.settings import Document, Extractor
from trafilatura.xml import xmltotxt

from pipelines.images import IMAGE_TAGS, PageImages
from pipelines.metadata import page_metadata
from pipelines.payload import (
    NotHtml,
    Undecodable,
    decode_html,
    is_html_type,
    looks_like_html,
    parse_html,
)
from pipelines.urls import absolute_urls, base_url
from storage.contentcoding import (
    DEFAULT_MAX_BYTES,
    decode_content,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "OPTIONS",
    "STATUSES",
    "Extraction",
    "decode_content",
    "extract_page",
    "is_html_type",
    "looks_like_html",
    "make_options",
]

STATUSES = (
    "ok",
    "empty",
    "not_html",
    "too_large",
    "timeout",
    "decode_error",
    "error",
    "unchanged",  # a revisit in the crawl's own dataset: see pipelines.extract
)
_STAND_IN = "https://link.invalid/"  # RFC 2606: .invalid never resolves


@dataclass(frozen=True)
class Extraction:
    """What extraction made of one page; ``status`` is one of :data:`STATUSES`."""

    status: str
    reason: str = ""
    text: str = ""
    title: str | None = None
    author: str | None = None
    published: str | None = None  # ISO date
    language: str | None = None
    links: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def make_options(
    *, focus: str = "balanced", tables: bool = True, comments: bool = False, fast: bool = False
) -> Extractor:
    """trafilatura's options for the dataset: main-content links always on.

    Metadata is found by :func:`pipelines.metadata.page_metadata` (with these options'
    ``date_params``), not by trafilatura's ``with_metadata``, which finds more than the
    dataset keeps. The text is made from ``bare_extraction``'s body by
    :func:`extract_page`; with ``output_format="python"`` trafilatura would also turn the
    body into text, once more per page, for nothing (the body is the same either way).
    """
    return Extractor(
        output_format="txt",
        with_metadata=False,
        links=True,
        comments=comments,
        tables=tables,
        fast=fast,
        precision=focus == "precision",
        recall=focus == "recall",
    )


#: The options chosen on the extraction sample (see bench/README.md, "Extraction").
OPTIONS = make_options()


def _stand_in_links(tree: HtmlElement) -> dict[str, str]:
    """Give every link an absolute stand-in URL, which trafilatura keeps as it is.

    trafilatura resolves relative links against the host alone, ignoring the path and
    ``<base href>``; the stand-ins map back to the hrefs as written, and only the links
    of the main content are resolved, against the page's real base.
    """
    hrefs = {}
    for number, anchor in enumerate(tree.iter("a")):
        if (href := anchor.get("href")) is not None:
            hrefs[stand_in := f"{_STAND_IN}{number}"] = href
            anchor.set("href", stand_in)
    return hrefs


def _page_images(tree: HtmlElement, base: str, encoding: str) -> list[str]:
    """The page's images (:mod:`pipelines.images`), absolute, each once."""
    images = PageImages()
    for element in tree.iter(IMAGE_TAGS):
        in_picture = element.tag == "source" and _in_picture(element)
        images.add(element.tag, element.attrib, in_picture)
    # A page names its images several times (img, og:image, srcset): resolve each once.
    return absolute_urls(base, dict.fromkeys(images.urls()), encoding)


def _in_picture(source: HtmlElement) -> bool:
    """Whether a ``source`` is a picture's: libxml2's HTML 4 parser, not knowing that
    ``<source>`` is empty, puts each source of a picture inside the one before."""
    parent = source.getparent()
    while parent is not None and parent.tag == "source":
        parent = parent.getparent()
    return parent is not None and parent.tag == "picture"


def _language(text: str, tree: HtmlElement) -> str | None:
    """The language of the text (py3langid), else the page's own ``lang``, as ISO 639-1."""
    if len(text) >= 40:
        return str(py3langid.classify(text[:1500])[0])
    declared = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    return declared.split("-")[0].strip().lower() or None


def extract_page(
    body: bytes,
    url: str,
    content_type: str,
    *,
    options: Extractor = OPTIONS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Extraction:
    """Main text, metadata, main-content links and all images of a content-decoded page."""
    if content_type and not is_html_type(content_type):
        return Extraction("not_html", f"content type {content_type.split(';')[0]}")
    if not content_type and not looks_like_html(body):
        return Extraction("not_html", "no content type and no HTML start")
    if len(body) > max_bytes:
        return Extraction("too_large", f"{len(body)} bytes, over {max_bytes}")
    if not body.strip():
        return Extraction("empty", "empty body")
    try:
        html, encoding = decode_html(body, content_type)
    except NotHtml as exc:
        return Extraction("not_html", str(exc))
    except Undecodable as exc:
        return Extraction("decode_error", str(exc))
    tree = parse_html(html)
    if tree is None:
        return Extraction("empty", "no HTML tree")
    base = base_url(url, next((str(h) for h in tree.xpath("//base/@href")), None))
    hrefs = _stand_in_links(tree)
    images = _page_images(tree, base, encoding)
    page_options = copy.copy(options)
    page_options.url = page_options.source = url
    document = trafilatura.bare_extraction(tree, options=page_options)  # on a copy of tree
    if not isinstance(document, Document) or document.body is None:
        title = " ".join(tree.findtext(".//title", "").split()) or None
        return Extraction(
            "empty", "no main text", "", title, None, None, _language("", tree), [], images
        )
    targets = (ref.get("target", "") for ref in document.body.iter("ref"))
    links = absolute_urls(base, (hrefs.get(t, t) for t in targets), encoding)
    strip_tags(document.body, "ref")
    text = xmltotxt(document.body, False).strip()
    language = _language(text, tree)
    metadata = page_metadata(tree, url, options.date_params)  # last: it prunes the tree
    return Extraction(
        "ok" if text else "empty",
        "" if text else "no main text",
        text,
        metadata.title,
        metadata.author,
        metadata.published,
        language,
        links,
        images,
    )
