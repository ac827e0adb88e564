"""When a page is rendered in the browser: ``BROWSER_MODE`` and the script-built rule.

Pure functions of what is known about a page (no Playwright, no Scrapy), so the spider
can ask before fetching a page and again once its HTML is in:

- ``never``: no page is rendered.
- ``always``: every page (seed, cited, linked) is rendered; requisites never are.
- ``auto`` (the default): the pages of outlets flagged ``browser = true`` in the outlet
  registry, and pages whose fetched HTML looks script-built (:func:`looks_script_built`).

A response known not to be HTML (a PDF, an image) is never rendered, whatever the mode.

**The script-built rule.** A page looks script-built when it runs script (at least one
``<script>`` that is JavaScript, with a ``src`` or code: JSON, JSON-LD and templates are
data, not script) and either

1. its visible text is short: under :data:`SHORT_TEXT` characters once whitespace is
   collapsed, counting the body's text outside ``script``, ``style``, ``noscript`` and
   ``template`` (what a reader sees before script runs); or
2. it has an empty app root, the element a single-page-app framework renders into
   (``id`` ``root``, ``react-root``, ``app``, ``__next``, ``__nuxt``, ``___gatsby`` or
   ``svelte``, or Angular's ``<app-root>``), with under :data:`EMPTY_ROOT_TEXT`
   characters of text in it (room for "Loading..."), on a page with under
   :data:`APP_SHELL_TEXT` characters of visible text in all (a page whose article is in
   its HTML is not rendered for the sake of an empty widget beside it).

Server-rendered pages of the same frameworks fill their root, so they stay with Scrapy's
downloader: no news page of ``tests/data/extraction-sample`` (React, Next, Nuxt and
Angular ones among them) looks script-built. The page is parsed with Lexbor
(selectolax), as a browser's HTML5 parser builds it. The crawl passes the tree it built
from the page's decoded text for its requisites; given bytes, the rule reads them as
UTF-8, so a page in a legacy encoding (GBK, Shift JIS) counts a character per byte at
most, which the thresholds are coarse enough to bear.
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args

from selectolax.lexbor import LexborHTMLParser, LexborNode

from storage.errors import BadInput

BrowserMode = Literal["auto", "always", "never"]
BROWSER_MODES: Final[tuple[BrowserMode, ...]] = get_args(BrowserMode)

#: visible characters under which a page that runs script is taken for a shell
SHORT_TEXT: Final = 200
#: characters of text an app root may hold and still be empty ("Loading...")
EMPTY_ROOT_TEXT: Final = 20
#: visible characters under which a page with an empty app root is taken for a shell
APP_SHELL_TEXT: Final = 2000

APP_ROOTS: Final = "#root, #react-root, #app, #__next, #__nuxt, #___gatsby, #svelte, app-root"
HIDDEN_TAGS: Final = ["script", "style", "noscript", "template"]
HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
# The MIME types HTML runs as classic script, and "module" (HTML's "JavaScript MIME type").
_JAVASCRIPT_TYPE = re.compile(
    r"|module|(?:text|application)/(?:x-)?(?:java|ec(?:ma)?)script(?:1\.[0-5])?"
    r"|text/(?:jscript|livescript)"
)


def browser_mode(value: object, *, name: str = "setting BROWSER_MODE") -> BrowserMode:
    """``value`` as a :data:`BrowserMode`; BadInput naming ``name`` if it is not one."""
    text = value.strip().lower() if isinstance(value, str) else value
    for mode in BROWSER_MODES:
        if text == mode:
            return mode
    raise BadInput(f"{name}: {value!r} is not one of {', '.join(BROWSER_MODES)}")


def is_html_type(content_type: str | bytes) -> bool:
    """Whether a ``Content-Type`` value names HTML (parameters such as charset ignored)."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    return content_type.split(";", 1)[0].strip().lower() in HTML_TYPES


def wants_browser(
    mode: BrowserMode,
    outlet_flag: bool,
    html: bytes | LexborHTMLParser | None = None,
    content_type: str | bytes | None = None,
) -> bool:
    """Whether a page (never a requisite) is rendered in the browser.

    ``outlet_flag`` is its outlet's ``browser`` flag; ``html`` and ``content_type`` are
    its fetched body (or its tree, as :func:`looks_script_built` takes it) and
    ``Content-Type``, or None before it is fetched (then ``auto`` answers for the outlet
    only, and the HTML is judged once it is in).
    """
    if mode == "never" or (content_type and not is_html_type(content_type)):
        return False
    if mode == "always" or outlet_flag:
        return True
    return html is not None and looks_script_built(html)


def _runs_script(tree: LexborHTMLParser) -> bool:
    for script in tree.css("script"):
        kind = (script.attributes.get("type") or "").split(";", 1)[0].strip().lower()
        if _JAVASCRIPT_TYPE.fullmatch(kind) and (
            script.attributes.get("src") or (script.text() or "").strip()
        ):
            return True
    return False


def _text_length(node: LexborNode | None) -> int:
    text = node.text(separator=" ") if node is not None else ""
    return len(" ".join(text.split()))


def looks_script_built(html: bytes | LexborHTMLParser) -> bool:
    """Whether ``html`` is a page that script builds in the browser (the rule: module doc).

    ``html``: the page's bytes, or its Lexbor tree when the caller has parsed it already
    (the crawl has, for its requisites); the rule strips that tree of its hidden elements.
    """
    tree = LexborHTMLParser(html) if isinstance(html, bytes) else html
    if not _runs_script(tree):
        return False
    tree.strip_tags(HIDDEN_TAGS)
    visible = _text_length(tree.body)
    if visible < SHORT_TEXT:
        return True
    return visible < APP_SHELL_TEXT and any(
        _text_length(root) < EMPTY_ROOT_TEXT for root in tree.css(APP_ROOTS)
    )
