"""Seeds to citations: the URLs a seed article links to or names, for the spider to crawl.

A seed is the http(s) URL of an article, a saved article (``.html``/``.htm``), article
text (``.txt``/``.md``) or a list of URLs (``.seeds``, or a ``.txt``/``.md`` file holding
nothing but URLs). From a page, only the links of its main content count (trafilatura
finds it); from text, the URLs written in it. Outlets named without a link are cited by
their start URL from the outlet registry (:mod:`crawler.outlets`). This module reads no
settings: the caller passes ``SEEDS`` and the registry built from ``OUTLETS_REGISTRY``
and ``EXTRA_OUTLETS``.
"""

from __future__ import annotations

import copy
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urldefrag, urlsplit

import trafilatura
from lxml.etree import _Element
from lxml.html import HtmlElement
from trafilatura.settings import Document, Extractor
from w3lib.encoding import html_to_unicode, read_bom

from crawler.outletnames import fold
from crawler.outlets import OutletRegistry, SeedError, normalise_space, sentence_finder
from crawler.searches import SEARCH_LINE
from pipelines.urls import absolute_url, base_url

logger = logging.getLogger(__name__)

Fetch = Callable[[str], bytes]
CitationSource = Literal["link", "named", "url-in-text", "listed", "search"]

# Main content without comments or images. No url= on purpose: links stay as written
# and are resolved here against the page's own base (trafilatura would use the host only).
_EXTRACTOR = Extractor(output_format="python", links=True, comments=False, images=False)
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"“”‘’«»]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?'\")]}’”»。，"
_URL_SEED = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
# A line of a seed list: a URL, then maybe a comment.
_LIST_LINE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://\S+)(?:\s+#\s*(.*))?")
# Block elements of trafilatura's XML: sentences never run across them.
_BLOCKS = ("head", "p", "list", "item", "quote", "code", "table", "row", "cell")
# Block elements of source HTML.
_SOURCE_BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "dd", "dt")
_SUFFIXES = (".html", ".htm", ".txt", ".md", ".seeds")


@dataclass(frozen=True)
class UnresolvedName:
    """A source a seed cites by name ("according to X") that no registry outlet has: no
    URL to crawl, shown so that the user can add X to a registry of their own."""

    name: str
    context: str

    def to_dict(self) -> dict[str, str | None]:
        """As a citation without URL or outlet, the name kept (for JSON)."""
        return {
            "url": None,
            "outlet": None,
            "source": "named-unresolved",
            "name": self.name,
            "context": self.context,
        }


@dataclass(frozen=True)
class SeedReading:
    """What seeds cite: citations to crawl, and the names the registry could not resolve."""

    citations: list[Citation]
    unresolved: list[UnresolvedName]


@dataclass(frozen=True)
class Citation:
    """A URL a seed cites: linked, written out, listed, or an outlet it names."""

    url: str
    outlet: str | None
    source: CitationSource
    context: str

    def to_dict(self) -> dict[str, str | None]:
        """The citation as a plain dict (for JSON and the dataset)."""
        return asdict(self)


def citations_from_html(
    html: bytes | str,
    page_url: str,
    registry: OutletRegistry,
    unresolved: list[UnresolvedName] | None = None,
) -> list[Citation]:
    """Links in the main content of a page, then outlets its text names without a link.

    Bytes are decoded by BOM, then the charset the page declares, then UTF-8. Relative
    links resolve against the page's ``<base href>``, else ``page_url``; links to the
    page itself, fragments, and anything that is not http(s) are dropped
    (:func:`pipelines.urls.absolute_url`). Names the registry cannot resolve are
    appended to ``unresolved`` when it is given.
    """
    return _page_citations(*_parse_html(page_url, html), page_url, registry, unresolved)


def citations_from_text(
    text: str, registry: OutletRegistry, unresolved: list[UnresolvedName] | None = None
) -> list[Citation]:
    """URLs written in the text, then outlets it names that no URL already cites (and
    names the registry cannot resolve appended to ``unresolved`` when it is given)."""
    sentence_at = sentence_finder(text)
    citations = []
    for match in _URL_IN_TEXT.finditer(text):
        url = absolute_url("", _strip_trailing_punctuation(match.group()))
        if url:
            citations.append(_cite(registry, url, "url-in-text", sentence_at(match.start())))
    return _unique(citations + _named(text, registry, citations, unresolved))


def citations_from_list(
    text: str, registry: OutletRegistry, *, name: str = "seed list"
) -> list[Citation]:
    """A seed list: one http(s) URL per line, ``#`` comments (whole-line or after a URL).

    A comment after a URL becomes the citation's context. Any other line raises
    :class:`SeedError` naming ``name`` and the line number.
    """
    citations = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#") or SEARCH_LINE.fullmatch(line.strip()):
            continue  # a search is crawler.searches'
        match = _LIST_LINE.fullmatch(line.strip())
        url = absolute_url("", match[1]) if match else None
        if match is None or url is None:
            raise SeedError(f"seed {name}: line {number}: not an http(s) URL: {line.strip()!r}")
        citations.append(_cite(registry, url, "listed", match[2] or ""))
    return _unique(citations)


def load_seed(seed: str, registry: OutletRegistry, fetch: Fetch | None = None) -> list[Citation]:
    """The citations of one seed: a URL (fetched with ``fetch``) or a file, by its suffix.

    A ``.txt``/``.md`` file whose every line (blank lines and ``#`` comments aside) is a
    URL is a seed list, any other is article text. Bad input raises :class:`SeedError`.
    """
    return _load_seed(seed, registry, fetch, None)


def read_seeds(
    seeds: Sequence[str], registry: OutletRegistry, fetch: Fetch | None = None
) -> SeedReading:
    """The citations of all seeds (as :func:`load_seeds`), and the sources they name that
    the registry lacks, each name once (its first sentence kept)."""
    citations: list[Citation] = []
    unresolved: list[UnresolvedName] = []
    for seed in seeds:
        found = _load_seed(seed, registry, fetch, unresolved)
        logger.info("seed %s: %d citations", seed, len(found))
        citations.extend(found)
    names = {fold(name.name): name for name in reversed(unresolved)}
    return SeedReading(_unique(citations), [n for n in unresolved if names[fold(n.name)] is n])


def _load_seed(
    seed: str,
    registry: OutletRegistry,
    fetch: Fetch | None,
    unresolved: list[UnresolvedName] | None,
) -> list[Citation]:
    if _URL_SEED.match(seed):
        return _url_seed_citations(seed, registry, fetch, unresolved)
    path = Path(seed)
    data = _read_seed_file(seed, path)
    if path.suffix.lower() in (".html", ".htm"):
        tree, encoding = _parse_html(seed, data)
        file_uri = path.resolve().as_uri()
        page_url = next(iter(_declared_urls(tree, file_uri, encoding)), file_uri)
        return _page_citations(tree, encoding, page_url, registry, unresolved)
    bom_encoding, bom = read_bom(data)
    try:
        text = data[len(bom or b"") :].decode(bom_encoding or "utf-8")
    except UnicodeDecodeError as exc:
        raise SeedError(f"seed {seed}: not text (invalid UTF-8 at byte {exc.start})") from None
    lines = [line.strip() for line in text.splitlines()]
    content = [line for line in lines if line and not line.startswith("#")]
    if not content:
        raise SeedError(f"seed {seed}: empty file (only comments)")
    if path.suffix.lower() == ".seeds" or all(_LIST_LINE.fullmatch(line) for line in content):
        return citations_from_list(text, registry, name=seed)
    return citations_from_text(text, registry, unresolved)


def load_seeds(
    seeds: Sequence[str], registry: OutletRegistry, fetch: Fetch | None = None
) -> list[Citation]:
    """The citations of all seeds, each URL once (its first citation wins)."""
    return read_seeds(seeds, registry, fetch).citations


def _read_seed_file(seed: str, path: Path) -> bytes:
    """The bytes of a seed file that exists, has a known suffix, and holds text."""
    if not path.exists():
        raise SeedError(f"seed {seed}: file not found")
    if not path.is_file():
        raise SeedError(f"seed {seed}: not a file")
    if path.suffix.lower() not in _SUFFIXES:
        raise SeedError(f"seed {seed}: unsupported file type (use {', '.join(_SUFFIXES)})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SeedError(f"seed {seed}: cannot read ({exc.strerror})") from None
    _, bom = read_bom(data)
    if not data[len(bom or b"") :].strip():
        raise SeedError(f"seed {seed}: empty file")
    if bom is None and b"\0" in data:
        raise SeedError(f"seed {seed}: not text (binary content)")
    return data


def _url_seed_citations(
    seed: str,
    registry: OutletRegistry,
    fetch: Fetch | None,
    unresolved: list[UnresolvedName] | None,
) -> list[Citation]:
    try:
        parts = urlsplit(seed)
    except ValueError:
        raise SeedError(f"seed {seed}: not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise SeedError(f"seed {seed}: unsupported URL scheme (use http or https)")
    if not parts.hostname:
        raise SeedError(f"seed {seed}: not a valid URL (no host)")
    if fetch is None:
        raise SeedError(f"seed {seed}: URL seeds need a fetcher here; save the page as .html")
    try:
        body = fetch(seed)
    except OSError as exc:
        raise SeedError(f"seed {seed}: cannot fetch ({exc})") from None
    if not body.strip():
        raise SeedError(f"seed {seed}: empty response")
    return citations_from_html(body, seed, registry, unresolved)


def _parse_html(seed: str, html: bytes | str) -> tuple[HtmlElement, str]:
    """The parsed page and its encoding; bytes decoded by BOM, then declared charset,
    then UTF-8."""
    encoding, text = html_to_unicode(None, html) if isinstance(html, bytes) else ("utf-8", html)
    tree = trafilatura.load_html(text)
    if tree is None:
        raise SeedError(f"seed {seed}: cannot parse HTML")
    return tree, encoding


def _cite(registry: OutletRegistry, url: str, source: CitationSource, context: str) -> Citation:
    """A citation of ``url``, with the outlet that owns its domain."""
    outlet = registry.outlet_for_url(url)
    return Citation(url, outlet.key if outlet else None, source, context)


def _page_citations(
    tree: HtmlElement,
    encoding: str,
    page_url: str,
    registry: OutletRegistry,
    unresolved: list[UnresolvedName] | None = None,
) -> list[Citation]:
    """Main-content links of a parsed page, then the outlets its main text names."""
    base = base_url(
        page_url,
        next((b.get("href") for b in tree.iter("base") if b.get("href") is not None), None),
    )
    declared = _declared_urls(tree, page_url, encoding)
    itself = {urldefrag(url)[0] for url in (page_url, *declared)}
    document = trafilatura.bare_extraction(tree, options=_EXTRACTOR)
    if not isinstance(document, Document) or document.body is None:
        logger.warning("seed %s: no main content found", page_url)
        return []
    citations = []
    for href, text in _main_links(tree, document.body):
        url = absolute_url(base, href, encoding)
        if url and url not in itself:
            citations.append(_cite(registry, url, "link", text))
    text = _plain_text(document.body)
    return _unique(citations + _named(text, registry, citations, unresolved))


def _main_links(tree: HtmlElement, body: _Element) -> list[tuple[str, str]]:
    """``(href, anchor text)`` of the main content's links, in document order.

    The links trafilatura kept, and those of a block it dropped as link-dense ("<a>UPI
    has more</a>:") when the block sits among paragraphs it kept (same parent): in an
    article's body such a paragraph is a citation, not boilerplate.
    """
    kept = Counter(
        (ref.get("target", "").strip(), normalise_space("".join(ref.itertext())))
        for ref in body.iter("ref")
    )
    texts = {normalise_space("".join(block.itertext())) for block in body.iter(*_BLOCKS)}
    containers = {
        p.getparent() for p in tree.iter("p") if normalise_space(p.text_content()) in texts
    }
    links = []
    for anchor in tree.iter("a"):
        link = (anchor.get("href", "").strip(), normalise_space(anchor.text_content()))
        block = next(anchor.iterancestors(*_SOURCE_BLOCKS), None)
        if kept[link] > 0:
            kept[link] -= 1
            links.append(link)
        elif block is not None and block.getparent() in containers:
            links.append(link)
    return links + list(kept.elements())  # any that trafilatura rewrote come last


def _plain_text(body: _Element) -> str:
    """The text of extracted content, a blank line between blocks, links as their text."""
    body = copy.deepcopy(body)
    for block in body.iter(*_BLOCKS):
        block.text, block.tail = f"\n\n{block.text or ''}", f"\n\n{block.tail or ''}"
    return "".join(body.itertext())


def _declared_urls(tree: HtmlElement, page_url: str, encoding: str) -> list[str]:
    """The page's own http(s) URLs as it declares them: canonical link, then og:url."""
    declared = [
        link.get("href", "")
        for link in tree.iter("link")
        if "canonical" in link.get("rel", "").lower().split()
    ]
    declared += [m.get("content", "") for m in tree.iter("meta") if m.get("property") == "og:url"]
    return [url for url in (absolute_url(page_url, d, encoding) for d in declared) if url]


def _named(
    text: str,
    registry: OutletRegistry,
    cited: Iterable[Citation],
    unresolved: list[UnresolvedName] | None = None,
) -> list[Citation]:
    """Citations of the outlets ``text`` names, except those already cited; the names it
    cites that the registry lacks go to ``unresolved`` when it is given."""
    if unresolved is not None:
        unresolved += [UnresolvedName(n, c) for n, c in registry.find_unresolved(text)]
    cited_outlets = {citation.outlet for citation in cited}
    return [
        Citation(outlet.start_urls[0], outlet.key, "named", sentence)
        for outlet, sentence in registry.find_named(text)
        if outlet.key not in cited_outlets
    ]


def _strip_trailing_punctuation(url: str) -> str:
    """Drop punctuation that ends the sentence, not the URL (keeps balanced parentheses)."""
    while url and url[-1] in _TRAILING_PUNCTUATION:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _unique(citations: Iterable[Citation]) -> list[Citation]:
    """Each URL once, its first citation kept."""
    first: dict[str, Citation] = {}
    for citation in citations:
        first.setdefault(citation.url, citation)
    return list(first.values())
