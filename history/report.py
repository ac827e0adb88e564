"""The scrub report as one self-contained HTML file, readable offline in any browser.

A summary of what was scrubbed first, each with its evidence (``why``, and ``by`` for a
soft 404), then page by page (a page the later crawl could not reach says why): the earlier and the later
version side by side, removed text highlighted on the left and added text on the
right, thumbnails of removed images taken from the archive, and, for a page a
browser rendered, its screenshots from the two crawls side by side (the ``urn:view:``
capture of the page's URL, or of the URL it redirected to). Each search's two result
lists come after the summary (:mod:`history.searchreport`). Pictures are inlined as
``data:`` URIs, so the file needs nothing else, and read through one index of the
store, so each of its indexes is read once however many there are.

Each text block says its language (``lang``, told by py3langid), and the fonts fall
back to CJK ones for Chinese, Japanese and Korean, so a page in any script reads as
text, not boxes. With ``replay_base`` (the URL ``scrubwatch replay`` prints), each
scrubbed item links to its page replayed as the earlier crawl captured it.

Pictures are inlined as archived, never re-encoded: a removed image or screenshot over
:data:`MAX_THUMBNAIL_BYTES` is left out, and once :data:`MAX_SCREENSHOTS_BYTES` of
screenshots are in, the later ones are too; each says how to ``get`` it.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from urllib.parse import quote

from history.diffresult import Diff, PageDiff, Scrub
from history.searchreport import SEARCH_STYLE, SearchSections
from history.timeline import get_payload
from storage.captures import CaptureIndex, CaptureRef
from storage.errors import StoreError
from storage.imported import ImportedCrawls
from storage.rendered import view_uri
from storage.stores import Store

MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024
#: screenshots inlined in one report, at most: a diff of many rendered pages stays a
#: file a browser opens
MAX_SCREENSHOTS_BYTES = 48 * 1024 * 1024
IMAGE_TYPES = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
}

SANS = 'system-ui,"Noto Sans","DejaVu Sans"'
CJK_FONTS = {
    "zh": '"Noto Sans CJK SC","Noto Sans CJK TC","WenQuanYi Micro Hei"',
    "ja": '"Noto Sans CJK JP","WenQuanYi Micro Hei"',
    "ko": '"Noto Sans CJK KR","WenQuanYi Micro Hei"',
}
#: every CJK font in the body's stack too, after the Latin ones: a block whose language
#: was told wrong still finds glyphs for its characters
FONT_STYLE = f"body{{font-family:{SANS},{CJK_FONTS['zh']},sans-serif}}" + "".join(
    f":lang({lang}){{font-family:{fonts},{SANS},sans-serif}}" for lang, fonts in CJK_FONTS.items()
)
STYLE = """
body{font-size:15px;line-height:1.45;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{font-size:1.15em;margin-top:2em;word-break:break-all}
.summary li{margin:.3em 0}.kind{font-weight:600;padding:0 .4em;border-radius:3px}
.page-removed,.page-redirected{background:#f8d7da}.text-removed{background:#fff3cd}
.image-removed{background:#e2d9f3}.change{font-size:.85em;color:#555}
.why{font-size:.85em;color:#555;font-style:italic}
.imported{font-size:.85em;background:#d1ecf1;padding:0 .4em;border-radius:3px}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.side{border:1px solid #ddd;border-radius:4px;padding:.6em}
del{background:#f8d7da;text-decoration:line-through}ins{background:#d4edda;text-decoration:none}
del,ins{display:block;margin:.3em 0;padding:.2em .3em}
figure{display:inline-block;margin:.5em;text-align:center;font-size:.8em;max-width:220px}
figure img{max-width:200px;max-height:160px;border:2px solid #c00}
.shots{display:grid;grid-template-columns:1fr 1fr;gap:1em;margin-top:1em}
.shots figure{display:block;margin:0;max-width:none;text-align:left}
.shots .frame{max-height:480px;overflow-y:auto;border:1px solid #999}
.shots figure img{display:block;max-width:100%;max-height:none;border:0}
.shots p{margin:.3em 0;color:#555}
"""


def block_lang(text: str) -> str | None:
    """The language of a block of text (ISO 639-1), None for one too short to tell.

    Chinese, Japanese and Korean are told by their scripts (py3langid names some Chinese
    text Wu or Cantonese, which a ``:lang(zh)`` rule would not match); others by py3langid.
    """
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 2:
        return None
    if any("\u3040" <= c <= "\u30ff" for c in letters):
        return "ja"
    if any("\uac00" <= c <= "\ud7af" for c in letters):
        return "ko"
    if 2 * sum("\u4e00" <= c <= "\u9fff" for c in letters) > len(letters):
        return "zh"
    import py3langid  # here: loading its model costs a reader of the archive that makes no report

    return str(py3langid.classify(text)[0])


def _block(tag: str, text: str) -> str:
    lang = block_lang(text)
    attribute = f' lang="{lang}"' if lang else ""
    return f"<{tag}{attribute}>{escape(text)}</{tag}>"


def replay_link(replay_base: str, url: str, timestamp: str) -> str:
    """Where ``scrubwatch replay`` at ``replay_base`` shows ``url`` as captured at ``timestamp``."""
    return f"{replay_base.split('?')[0]}?url={quote(url, safe='')}&ts={timestamp}"


def _anchor(url: str) -> str:
    return "p" + hashlib.sha1(url.encode()).hexdigest()[:12]


def _image_uri(body: bytes) -> str | None:
    """``body`` as a ``data:`` URI if it is an image a browser shows, else None."""
    mime = next((m for magic, m in IMAGE_TYPES.items() if body.startswith(magic)), None)
    if mime is None:
        return None
    return f"data:{mime};base64,{base64.b64encode(body).decode()}"


def _data_uri(index: CaptureIndex, url: str, crawl_id: str | None) -> str | None:
    try:
        _capture, body = get_payload(index.store, url, crawl_id=crawl_id, index=index)
    except (StoreError, ValueError):
        return None
    return None if len(body) > MAX_THUMBNAIL_BYTES else _image_uri(body)


def screenshot(index: CaptureIndex, crawl_id: str, urls: list[str]) -> CaptureRef | None:
    """The screenshot crawl ``crawl_id`` took of the page at the first of ``urls`` it has
    one of (a page's URL, then its final URL); the latest, if it took several."""
    for url in urls:
        target = view_uri(url)
        found = [c for c in index.captures(target, [crawl_id]) if c.url == target]
        if found:
            return found[-1]
    return None


class _Screenshots:
    """The screenshots of the report's pages, inlined within :data:`MAX_SCREENSHOTS_BYTES`."""

    def __init__(self, index: CaptureIndex, diff: Diff) -> None:
        self.index = index
        self.diff = diff
        self.budget = MAX_SCREENSHOTS_BYTES

    def _figure(self, crawl_id: str, capture: CaptureRef | None) -> str:
        label = f"<b>{escape(crawl_id)}</b>"
        if capture is None:
            return f"<figure>{label}<p>no screenshot in this crawl</p></figure>"
        get = f"scrubwatch get {capture.url} --crawl {capture.crawl_id}"
        try:
            body = self.index.read(capture).raw_body
        except StoreError as exc:
            return f"<figure>{label}<p>screenshot unreadable: {escape(str(exc))}</p></figure>"
        uri = _image_uri(body)
        if uri is None:
            note = "the screenshot is no image a browser shows"
        elif len(body) > MAX_THUMBNAIL_BYTES or len(uri) > self.budget:
            note = f"screenshot of {len(body):,} bytes not inlined"
        else:
            self.budget -= len(uri)
            picture = f'<img src="{uri}" alt="screenshot in {escape(crawl_id)}">'
            return f'<figure>{label}<div class="frame">{picture}</div></figure>'
        return f"<figure>{label}<p>{note}: <code>{escape(get)}</code></p></figure>"

    def block(self, page: PageDiff) -> str:
        """Before and after, side by side; empty when neither crawl rendered the page."""
        urls = [page.url] + ([page.redirect] if page.redirect is not None else [])
        crawls = (self.diff.from_id, self.diff.to_id)
        shots = [screenshot(self.index, crawl_id, urls) for crawl_id in crawls]
        if not any(shots):
            return ""
        figures = "".join(self._figure(c, s) for c, s in zip(crawls, shots, strict=True))
        return f'<div class="shots">{figures}</div>'


def _why(why: str | None, by: str | None) -> str:
    """The evidence, in words: ``soft-404 (by probe)``."""
    if why is None:
        return ""
    return f'<span class="why">{escape(why)}{f" (by {escape(by)})" if by else ""}</span>'


def _imported(source: str | None) -> str:
    """The mark of evidence that came from another archive (an imported crawl)."""
    if source is None:
        return ""
    return f' <span class="imported">from another archive: {escape(source)}</span>'


def _replay(index: CaptureIndex, diff: Diff, scrub: Scrub, replay_base: str | None) -> str:
    """A link to the scrubbed item's page as the earlier crawl captured it; "" without one."""
    if replay_base is None:
        return ""
    for url, crawl in ((scrub.page, diff.from_id), (scrub.url, scrub.archived_in)):
        captures = index.captures(url, [crawl]) if crawl else []
        if captures:
            href = replay_link(replay_base, url, captures[0].timestamp)
            return f' <a class="replay" href="{escape(href)}">replay</a>'
    return ""


def _summary(
    diff: Diff, index: CaptureIndex, imported: ImportedCrawls, replay_base: str | None
) -> str:
    unreachable = sum(1 for p in diff.pages if p.change == "unreachable")
    note = (
        f"<p>{unreachable} page(s) could not be reached by the later crawl: no evidence of "
        "removal either way.</p>"
        if unreachable
        else ""
    )
    if not diff.scrubbed:
        return f"<p>Nothing was scrubbed between these crawls.</p>{note}"
    items = "".join(
        f'<li><span class="kind {escape(s.kind)}">{escape(s.kind)}</span> '
        f'<a href="#{_anchor(s.page)}">{escape(s.url)}</a> {_why(s.why, s.by)}'
        f' <span class="change">archived in {escape(str(s.archived_in))}</span>'
        f"{_imported(imported(s.archived_in) if s.archived_in else None)}"
        f"{_replay(index, diff, s, replay_base)}</li>"
        for s in diff.scrubbed
    )
    return f'<ul class="summary">{items}</ul>{note}'


def _page(
    index: CaptureIndex,
    diff: Diff,
    page: PageDiff,
    screenshots: _Screenshots,
    imported: ImportedCrawls,
) -> str:
    url = page.url
    redirect = f" → redirected to {escape(page.redirect)}" if page.redirect is not None else ""
    removed = "".join(_block("del", p) for p in page.text.removed)
    added = "".join(_block("ins", p) for p in page.text.added)
    figures = []
    for image in page.images.removed + [
        s.url
        for s in diff.scrubbed
        if s.kind == "image-removed" and s.page == url and s.url not in page.images.removed
    ]:
        archived_in = next((s.archived_in for s in diff.scrubbed if s.url == image), None)
        uri = _data_uri(index, image, archived_in)
        picture = f'<img src="{uri}" alt="removed image">' if uri else "(not archived)"
        mark = _imported(imported(archived_in) if archived_in else None)
        figures.append(f"<figure>{picture}<figcaption>{escape(image)}{mark}</figcaption></figure>")
    images = f"<div>{''.join(figures)}</div>" if figures else ""
    return (
        f'<section id="{_anchor(url)}"><h2>{escape(url)}</h2>'
        f'<p class="change">{escape(page.change)}: status {page.status_from} → {page.status_to}'
        f"{redirect} {_why(page.why, page.by)}</p>"
        f'<div class="sides"><div class="side"><b>{escape(diff.from_id)}</b>'
        f"{_imported(imported(diff.from_id))}{removed or '<p>—</p>'}</div>"
        f'<div class="side"><b>{escape(diff.to_id)}</b>{_imported(imported(diff.to_id))}'
        f"{added or '<p>—</p>'}</div></div>"
        f"{images}{screenshots.block(page)}</section>"
    )


def render_report(
    store: Store,
    diff: Diff,
    index: CaptureIndex | None = None,
    *,
    replay_base: str | None = None,
) -> str:
    shown = [p for p in diff.pages if p.change != "unchanged"]
    index = index if index is not None else CaptureIndex(store)
    screenshots = _Screenshots(index, diff)
    archive: CaptureIndex = index
    searches = SearchSections(
        diff, screenshots, _anchor, lambda url: _data_uri(archive, url, diff.from_id)
    )
    imported = ImportedCrawls(store)
    pages = "".join(_page(index, diff, p, screenshots, imported) for p in shown)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>scrubwatch: {escape(diff.from_id)} → {escape(diff.to_id)}</title>"
        f"<style>{FONT_STYLE}{STYLE}{SEARCH_STYLE}</style></head><body>"
        f"<h1>What changed between {escape(diff.from_id)} and {escape(diff.to_id)}</h1>"
        f"<h2>Scrubbed</h2>{_summary(diff, index, imported, replay_base)}{searches.render()}"
        f"{pages}</body></html>\n"
    )
