"""The scrub report as one self-contained HTML file, readable offline in any browser.

A summary of what was scrubbed first, then page by page: the earlier and the later
version side by side, removed text highlighted on the left and added text on the
right, and thumbnails of removed images taken from the archive (inlined as
``data:`` URIs, so the file needs nothing else), all read through one index of the
store, so each of its indexes is read once however many images there are.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from history.diffresult import Diff, PageDiff
from history.timeline import get_payload
from storage.captures import CaptureIndex
from storage.errors import StoreError
from storage.stores import Store

MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024
IMAGE_TYPES = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
}

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{font-size:1.15em;margin-top:2em;word-break:break-all}
.summary li{margin:.3em 0}.kind{font-weight:600;padding:0 .4em;border-radius:3px}
.page-removed,.page-redirected{background:#f8d7da}.text-removed{background:#fff3cd}
.image-removed{background:#e2d9f3}.change{font-size:.85em;color:#555}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.side{border:1px solid #ddd;border-radius:4px;padding:.6em}
del{background:#f8d7da;text-decoration:line-through}ins{background:#d4edda;text-decoration:none}
del,ins{display:block;margin:.3em 0;padding:.2em .3em}
figure{display:inline-block;margin:.5em;text-align:center;font-size:.8em;max-width:220px}
figure img{max-width:200px;max-height:160px;border:2px solid #c00}
"""


def _anchor(url: str) -> str:
    return "p" + hashlib.sha1(url.encode()).hexdigest()[:12]


def _data_uri(index: CaptureIndex, url: str, crawl_id: str | None) -> str | None:
    try:
        _capture, body = get_payload(index.store, url, crawl_id=crawl_id, index=index)
    except (StoreError, ValueError):
        return None
    mime = next((m for magic, m in IMAGE_TYPES.items() if body.startswith(magic)), None)
    if mime is None or len(body) > MAX_THUMBNAIL_BYTES:
        return None
    return f"data:{mime};base64,{base64.b64encode(body).decode()}"


def _summary(diff: Diff) -> str:
    if not diff.scrubbed:
        return "<p>Nothing was scrubbed between these crawls.</p>"
    items = "".join(
        f'<li><span class="kind {escape(s.kind)}">{escape(s.kind)}</span> '
        f'<a href="#{_anchor(s.page)}">{escape(s.url)}</a>'
        f' <span class="change">archived in {escape(str(s.archived_in))}</span></li>'
        for s in diff.scrubbed
    )
    return f'<ul class="summary">{items}</ul>'


def _page(index: CaptureIndex, diff: Diff, page: PageDiff) -> str:
    url = page.url
    redirect = f" → redirected to {escape(page.redirect)}" if page.redirect is not None else ""
    removed = "".join(f"<del>{escape(p)}</del>" for p in page.text.removed)
    added = "".join(f"<ins>{escape(p)}</ins>" for p in page.text.added)
    figures = []
    for image in page.images.removed + [
        s.url
        for s in diff.scrubbed
        if s.kind == "image-removed" and s.page == url and s.url not in page.images.removed
    ]:
        archived_in = next((s.archived_in for s in diff.scrubbed if s.url == image), None)
        uri = _data_uri(index, image, archived_in)
        picture = f'<img src="{uri}" alt="removed image">' if uri else "(not archived)"
        figures.append(f"<figure>{picture}<figcaption>{escape(image)}</figcaption></figure>")
    images = f"<div>{''.join(figures)}</div>" if figures else ""
    return (
        f'<section id="{_anchor(url)}"><h2>{escape(url)}</h2>'
        f'<p class="change">{escape(page.change)}: status {page.status_from} → {page.status_to}'
        f"{redirect}</p>"
        f'<div class="sides"><div class="side"><b>{escape(diff.from_id)}</b>{removed or "<p>—</p>"}'
        f'</div><div class="side"><b>{escape(diff.to_id)}</b>{added or "<p>—</p>"}</div></div>'
        f"{images}</section>"
    )


def render_report(store: Store, diff: Diff, index: CaptureIndex | None = None) -> str:
    shown = [p for p in diff.pages if p.change != "unchanged"]
    index = index if index is not None else CaptureIndex(store)
    pages = "".join(_page(index, diff, p) for p in shown)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>scrubwatch: {escape(diff.from_id)} → {escape(diff.to_id)}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>What changed between {escape(diff.from_id)} and {escape(diff.to_id)}</h1>"
        f"<h2>Scrubbed</h2>{_summary(diff)}{pages}</body></html>\n"
    )
