"""A captured payload made ready for parsing: decoded to text, or refused.

(``Content-Encoding`` is undone before, by :mod:`storage.contentcoding`.)
:func:`decode_html` follows the
browser's order (BOM, header charset, page charset) then UTF-8 then detection, and
refuses rather than garbles: binary payloads and text that no encoding reads cleanly
(or nearly: a few bad bytes become U+FFFD) raise. Plain Python; reads no settings.
"""

from __future__ import annotations

import re
import unicodedata

import trafilatura
from charset_normalizer import from_bytes
from lxml.html import HtmlElement, fromstring
from trafilatura.utils import DOCTYPE_TAG, HTML_PARSER, INVALID_XML_CHARS
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

HTML_TYPES = ("text/html", "application/xhtml+xml")
# WHATWG MIME sniffing: an HTML document starts with one of these tags.
_HTML_START = re.compile(
    rb"\s*<(?:!doctype\s+html|html|head|body|script|iframe|h1|div|font|table|a|style|title"
    rb"|b|br|p|!--)[\s>]",
    re.IGNORECASE,
)
_BINARY_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
_ASCII = bytes(range(0x80))
_NEARLY_VALID = 0.05  # share of the non-ASCII bytes that may be undecodable
_STRAY_BYTES = 8  # bad bytes tolerated in a page that declares its encoding


class NotHtml(ValueError):
    """The payload is binary, whatever its Content-Type says."""


class Undecodable(ValueError):
    """No encoding turns the payload into text without garbling it."""


def is_html_type(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in HTML_TYPES


def looks_like_html(body: bytes) -> bool:
    """Whether a payload served without a Content-Type sniffs as HTML."""
    _, bom = read_bom(body)
    return _HTML_START.match(body, len(bom or b""), 1024) is not None


def _decode(body: bytes, encoding: str, *, declared: bool = False) -> str | None:
    """``body`` decoded if it is valid in ``encoding`` or nearly (then with U+FFFD).

    "Nearly": at most 5% of the non-ASCII bytes are bad, so that text in another
    encoding never passes; a character cut at the very end (a truncated capture) is fine.
    """
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(body) - 4:
            return _decode(body[: exc.start], encoding, declared=declared)
    except LookupError:
        return None
    text = body.decode(encoding, "replace")
    non_ascii = len(body.translate(None, _ASCII))
    bad = text.count("\ufffd")
    # A page that declares this encoding gets a few stray bad bytes however little
    # non-ASCII text it has; reading it as another encoding would garble the rest.
    return text if bad <= _NEARLY_VALID * non_ascii or (declared and bad <= _STRAY_BYTES) else None


def _detected(body: bytes) -> str | None:
    """The encoding the bytes imply; Latin-script single-byte text is read as windows-1252."""
    sample = body[: body.rfind(b">", 0, 65536) + 1] or body[:65536]
    best = from_bytes(sample).best()
    if best is None:
        return None
    if len("\u20ac\u4e2d".encode(best.encoding, "ignore")) > 2:  # a multi-byte encoding
        return best.encoding
    letters = [c for c in str(best) if ord(c) > 0x7F and c.isalpha()]
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return "cp1252" if latin * 2 >= len(letters) else best.encoding


def decode_html(body: bytes, content_type: str) -> tuple[str, str]:
    """(text, encoding) of an HTML payload.

    A BOM decides; then bytes that are (nearly) valid UTF-8 are UTF-8, whatever is
    declared (text in a legacy encoding is valid UTF-8 by accident only in theory); then
    the header's charset, the page's, and what detection finds. Raises :class:`NotHtml` for binary payloads and
    :class:`Undecodable` when no encoding reads the bytes cleanly or nearly so (a few bad
    bytes become U+FFFD): broken text is refused, never garbled.
    """
    bom_encoding, bom = read_bom(body)
    if bom_encoding and bom:
        return body[len(bom) :].decode(bom_encoding, "replace"), bom_encoding
    head = body[:1445]
    if head.translate(None, _BINARY_BYTES) != head:
        raise NotHtml("binary bytes in the first 1445 bytes")
    declared = [http_content_type_encoding(content_type), html_body_declared_encoding(body)]
    candidates = ["utf-8", *(e for e in dict.fromkeys(declared) if e and e != "utf-8")]
    for encoding in candidates:
        if (text := _decode(body, encoding, declared=encoding in declared)) is not None:
            return text, encoding
    if (detected := _detected(body)) and (text := _decode(body, detected)) is not None:
        return text, detected
    raise Undecodable(f"not valid in {' nor '.join(candidates)}, and no encoding detected")


# What trafilatura's repair_faulty_html removes: characters XML does not allow. In UTF-8
# the controls are single bytes (never inside another character), U+FFFE and U+FFFF the
# only encodings of themselves.
_XML_CONTROLS = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_XML_NONCHARS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def parse_html(html: str) -> HtmlElement | None:
    """``trafilatura.load_html(html)``, the same tree in four fifths of the time.

    trafilatura removes the characters XML does not allow with a regular expression over
    the page (half of its cost on a news page) and parses the string; this removes them
    from the page's UTF-8 bytes with ``bytes.translate`` and parses those, with the same
    parser. Its other repairs are made the same way; a page where they would meet one of
    those characters, or that has a self-closing ``<html/>``, a lone surrogate, or that
    does not parse at first, goes to ``load_html`` itself. ``tests/test_extraction.py``
    compares the trees, on the sample and on generated pages.
    """
    beginning = html[:50].lower()
    firstline, _, rest = html.partition("\n")
    head = html[: max(4096, len(firstline))]
    if INVALID_XML_CHARS.search(head) or any(
        "<html" in line and line.endswith("/>") for line in head[:4096].splitlines()[:4]
    ):
        return trafilatura.load_html(html)
    repaired = html
    if "doctype" in beginning:  # as repair_faulty_html does
        repaired = DOCTYPE_TAG.sub("", firstline, count=1) + "\n" + rest
    try:
        data = repaired.encode("utf-8").translate(None, _XML_CONTROLS)
    except UnicodeEncodeError:  # a lone surrogate, which no decoded payload has
        return trafilatura.load_html(html)
    if b"\xef\xbf" in data:
        for nonchar in _XML_NONCHARS:
            data = data.replace(nonchar, b"")
    try:
        tree = fromstring(data, parser=HTML_PARSER)
    except Exception:  # load_html's own fallbacks and errors
        tree = None
    if tree is None or len(tree) < 1:
        return trafilatura.load_html(html)
    if "html" not in beginning and len(tree) < 2:  # load_html's dubious-HTML rejection
        return None
    return tree
