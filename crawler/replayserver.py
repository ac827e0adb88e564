"""A loopback HTTP server that replays a WACZ package in ReplayWeb.page.

It serves three things on 127.0.0.1:

- ``/`` : a page holding ReplayWeb.page's ``<replay-web-page>`` element over the
  package, opened at ``?url=URL&ts=YYYYMMDDhhmmss`` when given, else at the package's
  main page (``mainPageUrl``/``mainPageDate`` of its ``datapackage.json``);
- ``/replay/ui.js`` and ``/replay/sw.js``: the viewer (:mod:`crawler.replaywebpage`);
  its service worker replays the archived pages under ``/replay/``, and ``/replay/`` is
  the viewer's own page (``<replay-app-main>``), which the element frames;
- ``/<name>.wacz``: the package, with HTTP Range requests answered (206, one range), as
  ReplayWeb.page reads a WACZ a part at a time.

Loopback only: the archive is the user's to show, not the network's.
"""

from __future__ import annotations

import html
import json
import re
import threading
import zipfile
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

HOST = "127.0.0.1"
VIEWER_FILES = {"/replay/ui.js": "ui.js", "/replay/sw.js": "sw.js"}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_CHUNK = 1 << 16

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>scrubwatch replay: {name}</title>
<script src="/replay/ui.js"></script>
<style>html, body {{ margin: 0; height: 100%; }} replay-web-page {{ display: block; height: 100vh; }}</style>
</head>
<body>
<replay-web-page source="{source}" replayBase="/replay/" embed="replayonly"{where}></replay-web-page>
</body>
</html>
"""


VIEWER_PAGE = b"""<!doctype html>
<html>
<head>
<meta charset="utf-8">
<script src="./ui.js"></script>
</head>
<body>
<replay-app-main></replay-app-main>
</body>
</html>
"""


def timestamp14(rfc3339: str) -> str:
    """``2026-03-01T12:00:00Z`` -> ``20260301120000``."""
    return re.sub(r"\D", "", rfc3339)[:14]


def main_page(package: Path) -> tuple[str, str] | None:
    """The package's main page URL and 14-digit time, from its ``datapackage.json``."""
    with zipfile.ZipFile(package) as zf:
        meta: dict[str, Any] = json.loads(zf.read("datapackage.json"))
    url, date = meta.get("mainPageUrl"), meta.get("mainPageDate")
    return (url, timestamp14(date or "")) if isinstance(url, str) else None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte a ``Range`` header asks of ``size`` bytes; None for the
    whole file (no header, or one this server does not split: several ranges). Raises
    ``ValueError`` for a range that cannot be satisfied."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            raise ValueError(header)
        start = max(size - int(last), 0)
        end = size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError(header)
    return start, end


class _Handler(BaseHTTPRequestHandler):
    server: ReplayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        parts = urlsplit(self.path)
        if parts.path in ("/", "/index.html"):
            self._send_bytes(
                self.server.index_page(parse_qs(parts.query)), "text/html; charset=utf-8", body
            )
        elif parts.path in ("/replay/", "/replay/index.html"):
            self._send_bytes(VIEWER_PAGE, "text/html; charset=utf-8", body)
        elif parts.path in VIEWER_FILES:
            data = (self.server.viewer / VIEWER_FILES[parts.path]).read_bytes()
            self._send_bytes(data, "application/javascript", body, {"Service-Worker-Allowed": "/"})
        elif parts.path == self.server.package_path:
            self._send_package(body)
        else:
            self._send_bytes(b"not found\n", "text/plain", body, status=HTTPStatus.NOT_FOUND)

    def _send_bytes(
        self,
        data: bytes,
        content_type: str,
        body: bool,
        headers: dict[str, str] | None = None,
        status: HTTPStatus = HTTPStatus.OK,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _send_package(self, body: bool) -> None:
        size = self.server.package.stat().st_size
        try:
            wanted = byte_range(self.headers.get("Range"), size)
        except ValueError:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = wanted if wanted is not None else (0, size - 1)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if wanted else HTTPStatus.OK)
        self.send_header("Content-Type", "application/wacz")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if wanted:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not body:
            return
        with self.server.package.open("rb") as fh:
            fh.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = fh.read(min(_CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


class ReplayServer(ThreadingHTTPServer):
    """Serves ``package`` and the viewer in ``viewer`` on 127.0.0.1:``port`` (0: any free)."""

    daemon_threads = True

    def __init__(self, package: Path, viewer: Path, port: int = 0) -> None:
        super().__init__((HOST, port), _Handler)
        self.package = package
        self.viewer = viewer
        self.package_path = "/" + quote(package.name)
        self.main = main_page(package)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def page_url(self, url: str, ts: str) -> str:
        """Where the viewer opens ``url`` as captured at ``ts`` (14 digits)."""
        return f"{self.url}?url={quote(url, safe='')}&ts={ts}"

    def index_page(self, query: dict[str, list[str]]) -> bytes:
        url = query.get("url", [""])[0]
        ts = query.get("ts", [""])[0]
        if not url and self.main is not None:
            url, ts = self.main
        where = "".join(
            f' {name}="{html.escape(value)}"' for name, value in (("url", url), ("ts", ts)) if value
        )
        source = html.escape(self.url.rstrip("/") + self.package_path)
        page = PAGE.format(name=html.escape(self.package.name), source=source, where=where)
        return page.encode()

    def start(self) -> None:
        """Serve in a thread of its own until :meth:`stop`."""
        self._thread = threading.Thread(target=self.serve_forever, name="replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()
