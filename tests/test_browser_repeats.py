"""Rendered pages that share their requisites fetch each once.

A seed cites five script-built pages, rendered two at a time (``BROWSER_PAGES=2``); each
page's script adds the same stylesheet and logo, and one image of its own. The site
counts what it is asked for: every path once, each page still gets the shared logo, and
the crawl log has one entry for it.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.fixtures.cli import FAST, run_cli
from tests.fixtures.rendered import png
from tests.fixtures.serve import send

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PAGES = [f"/p/{n}" for n in range(5)]
LOGO = png(32, 32, (10, 120, 10))


def _page(n: int) -> bytes:
    # a shell: little text, the content put in by script (the rule that sends it to the browser)
    return f"""<!doctype html><html><head><title>Page {n}</title></head><body><div id=root></div>
<script>
const css = document.createElement('link'); css.rel = 'stylesheet'; css.href = '/shared.css';
document.head.appendChild(css);
for (const src of ['/img/logo.png', '/img/own-{n}.png']) {{
  const img = document.createElement('img'); img.src = src;
  document.getElementById('root').appendChild(img);
}}
</script></body></html>""".encode()


def _routes() -> dict[str, tuple[str, bytes]]:
    seed = "".join(f'<p>Cited: <a href="{p}">page {p}</a>, and more words.</p>' for p in PAGES)
    routes = {
        "/": ("text/html", f"<!doctype html><html><body>{seed * 3}</body></html>".encode()),
        "/shared.css": ("text/css", b"body { background: #eee }"),
        "/img/logo.png": ("image/png", LOGO),
        "/robots.txt": ("text/plain", b"User-agent: *\n"),
    }
    for n, path in enumerate(PAGES):
        routes[path] = ("text/html; charset=utf-8", _page(n))
        routes[f"/img/own-{n}.png"] = ("image/png", png(16, 16, (n * 40, 0, 0)))
    return routes


@pytest.fixture(scope="module")
def site() -> Iterator[dict[str, Any]]:
    routes, asked = _routes(), Counter[str]()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            asked[self.path] += 1
            kind, body = routes.get(self.path, ("text/plain", b"not here"))
            send(self, 200 if self.path in routes else 404, kind, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield {"base": f"http://127.0.0.1:{server.server_address[1]}", "asked": asked}
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def crawled(site: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    store = tmp_path_factory.mktemp("repeats") / "archive"
    done = run_cli(
        "crawl", f"{site['base']}/", "--store", str(store), "--crawl-id", "c1", *FAST,
        "-s", "BROWSER_MODE=auto", "-s", "BROWSER_PAGES=2", "-s", "BROWSER_PAGE_TIMEOUT=10",
        "-s", "SSRF_ALLOWED_NETWORKS=127.0.0.1/32",
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    log = [
        json.loads(line)
        for line in gzip.decompress(
            (store / "crawls" / "c1" / "crawl-log.jsonl.gz").read_bytes()
        ).splitlines()
    ]
    folder = store / "datasets" / "text" / "crawl_id=c1"
    rows = pq.read_table(sorted(Path(folder).glob("*.parquet"))).to_pylist()
    return {"store": store, "log": log, "rows": {r["url"]: r for r in rows}, **site}


def test_every_path_is_asked_for_once(crawled: dict[str, Any]) -> None:
    asked = crawled["asked"]
    assert asked["/img/logo.png"] == 1 and asked["/shared.css"] == 1
    assert [path for path, n in asked.items() if n > 1] == []
    assert all(asked[f"/img/own-{n}.png"] == 1 for n in range(len(PAGES)))


def test_each_rendered_page_still_has_the_shared_logo(crawled: dict[str, Any]) -> None:
    base, rows = crawled["base"], crawled["rows"]
    for path in PAGES:
        row = rows[base + path]
        assert row["rendered"] is True
        assert base + "/img/logo.png" in row["images"], row["images"]


def test_the_crawl_log_has_one_entry_a_fetch(crawled: dict[str, Any]) -> None:
    base = crawled["base"]
    urls = Counter(entry["url"] for entry in crawled["log"])
    assert urls[base + "/img/logo.png"] == 1 and urls[base + "/shared.css"] == 1
