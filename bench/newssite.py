"""The benchmark site: the extraction sample's 61 real news pages, replicated, served by nginx.

Page ``i`` is ``/p/<copy>/<stem>.html`` (``copy = i // 61``): nginx serves the sample
page ``<stem>`` and inserts ``<!-- copy /p/<copy>/<stem>.html -->`` before ``</body>``
(``sub_filter``), so every URL has its own payload and WARC deduplication does not
turn copies into revisits. ``/index/<k>.html`` links pages ``50k .. 50k+49`` and the
next index page (chained). The seed list holds every index URL, so ``--depth 1``
reaches every page, and no page's own links are followed.

The pages' requisites (images, stylesheets, icons, ``og:image``) point at hosts that
do not resolve here; they are rewritten to ``/x/<host>/<path>`` (resolved against the
page's original URL, so every copy of a page shares them, as pages of one site share
their images) and nginx answers them all with one 1x1 GIF. No request leaves loopback,
not even a DNS query. A site built with ``requisites=False`` (the like-for-like site of
figure 2) has none to fetch: every requisite reference is ``data:,x`` (the elements stay,
so the pages parse and extract as before), and a crawl of it fetches its pages and
robots.txt, nothing else, whoever crawls it. ``serve(..., access_log=True)`` logs every
request nginx answers, so a benchmark can count what each contender asked for.

HTML goes out as ``text/html`` without charset, gzip-encoded by nginx's gzip module
(``Accept-Encoding`` permitting). nginx runs from Debian's package with its own config
in a temporary folder, ``daemon off``, on a free port of 127.0.0.1; installed with apt
when missing; stopped on exit.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html
from selectolax.lexbor import LexborHTMLParser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.requisites import requisite_refs  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "extraction-sample"
LINKS_PER_INDEX = 50
# A transparent 1x1 GIF: the answer to every requisite.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format bench '$msec $request_uri';
    access_log {access_log};
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ text/html html; image/gif gif; text/plain txt; }}
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    gzip on;
    gzip_comp_level 1;
    gzip_vary on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /robots.txt {{ }}
        location /index/ {{ }}
        location ~ ^/p/[0-9]+/(?<stem>[0-9a-f]+)\\.html$ {{
            sub_filter '</body>' '<!-- copy $request_uri --></body>';
            sub_filter_once on;
            try_files /pages/$stem.html =404;
        }}
        location /x/ {{ try_files /pixel.gif =404; }}
    }}
}}
"""


def load_sample() -> dict[str, tuple[bytes, str]]:
    """stem -> (HTML as fetched, its original URL)."""
    truth = json.loads((SAMPLE / "ground-truth.json").read_text())
    return {
        stem: (gzip.decompress((SAMPLE / "html" / f"{stem}.html.gz").read_bytes()), entry["url"])
        for stem, entry in sorted(truth.items())
    }


def _local(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"/x/{parts.hostname or 'none'}{path}" + (f"?{parts.query}" if parts.query else "")


def _requisite_refs(page: bytes) -> set[str]:
    """What the crawler's requisite walk finds in ``page`` (its HTML5 tree), as written."""
    refs = {
        ref.strip() for ref in requisite_refs(LexborHTMLParser(page.decode("utf-8", "replace")))
    }
    return {r for r in refs if r and not r.startswith(("data:", "javascript:", "mailto:", "#"))}


def _base(tree: lxml_html.HtmlElement, url: str) -> tuple[str, str | None]:
    """The URL relative references resolve against, and the ``<base href>`` as written."""
    href = next((str(h).strip() for h in tree.xpath("//base/@href")), None)
    return (urljoin(url, href) if href else url), href


#: What a requisite's reference becomes on a site without requisites: not http(s), so
#: no crawler fetches it, and a URL still in the ``src``, ``href`` or ``srcset``.
ABSENT = b"data:,x"


def localize(page: bytes, url: str, *, requisites: bool = True) -> bytes:
    """The page with its requisites' URLs (and its ``<base href>``) on this site; with
    ``requisites=False``, each requisite's URL is :data:`ABSENT` instead."""
    tree = lxml_html.fromstring(page)
    base, href = _base(tree, url)
    replacements: dict[bytes, bytes] = {}
    if href:
        replacements[href.encode()] = _local(base).encode()
    for ref in _requisite_refs(page):
        new = _local(urljoin(base, ref)).encode() if requisites else ABSENT
        for raw in (ref, html.escape(ref, quote=False), html.escape(ref)):
            replacements.setdefault(raw.encode(), new)
    if not replacements:
        return page
    # One pass; longest first, so that a URL is not rewritten inside a longer one.
    alternatives = b"|".join(re.escape(r) for r in sorted(replacements, key=len, reverse=True))
    pattern = re.compile(rb"(?<=[\"'=\s,])(?:" + alternatives + rb")(?=[\"'\s,>])")
    page = pattern.sub(lambda m: replacements[m[0]], page)
    return page


def check_local(page: bytes, base: str) -> list[str]:
    """Requisites of ``page`` (served at ``base``) that would leave the site."""
    host = urlsplit(base).netloc
    tree = lxml_html.fromstring(page)
    base = _base(tree, base)[0]
    return sorted(r for r in _requisite_refs(page) if urlsplit(urljoin(base, r)).netloc != host)


def fetchable_requisites(page: bytes, base: str) -> list[str]:
    """Requisites of ``page`` (served at ``base``) that a crawler could fetch: http(s)."""
    tree = lxml_html.fromstring(page)
    base = _base(tree, base)[0]
    resolved = (urljoin(base, r) for r in _requisite_refs(page))
    return sorted(u for u in resolved if urlsplit(u).scheme in ("http", "https"))


@dataclass(frozen=True)
class Site:
    """A built site: its files, its size, and (once served) its address."""

    root: Path
    pages: int
    stems: list[str]
    base: str = ""
    requisites: bool = True
    access_log: Path | None = None

    def requests_logged(self) -> list[tuple[float, str]]:
        """(when, path) of each request nginx has answered so far, if served with
        ``access_log`` (else none)."""
        if self.access_log is None or not self.access_log.exists():
            return []
        lines = self.access_log.read_text().splitlines()
        return [(float(when), path) for when, _, path in (x.partition(" ") for x in lines)]

    @property
    def index_count(self) -> int:
        return -(-self.pages // LINKS_PER_INDEX)

    def page_path(self, number: int) -> str:
        copy, which = divmod(number, len(self.stems))
        return f"/p/{copy}/{self.stems[which]}.html"

    def index_urls(self) -> list[str]:
        return [f"{self.base}/index/{k}.html" for k in range(self.index_count)]

    def write_seeds(self, path: Path) -> Path:
        path.write_text("".join(url + "\n" for url in self.index_urls()))
        return path

    @property
    def html_pages(self) -> int:
        """Article pages and index pages: what a crawl of the whole site fetches as HTML."""
        return self.pages + self.index_count


def build_site(root: Path, pages: int, *, requisites: bool = True) -> Site:
    """Write the site's files (61 localized pages, the index pages, a pixel) under ``root``;
    ``requisites=False``: the pages name no requisite a crawler could fetch."""
    sample = load_sample()
    (root / "pages").mkdir(parents=True, exist_ok=True)
    (root / "index").mkdir(exist_ok=True)
    for stem, (page, url) in sample.items():
        local = localize(page, url, requisites=requisites)
        served_at = f"http://127.0.0.1/p/0/{stem}.html"
        if requisites and (leaks := check_local(local, served_at)):
            raise SystemExit(f"page {stem}: requisites still off the site: {leaks[:5]}")
        if not requisites and (left := fetchable_requisites(local, served_at)):
            raise SystemExit(f"page {stem}: requisites still fetchable: {left[:5]}")
        (root / "pages" / f"{stem}.html").write_bytes(local)
    (root / "pixel.gif").write_bytes(PIXEL)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    site = Site(root, pages, list(sample), requisites=requisites)
    for k in range(site.index_count):
        numbers = range(k * LINKS_PER_INDEX, min((k + 1) * LINKS_PER_INDEX, pages))
        items = "".join(
            f'<li><a href="{site.page_path(n)}">Article {n}</a></li>\n' for n in numbers
        )
        chain = f'<a href="/index/{k + 1}.html">next</a>' if k + 1 < site.index_count else ""
        (root / "index" / f"{k}.html").write_text(
            f"<!DOCTYPE html>\n<html><head><title>Index {k}</title></head><body>\n"
            f"<h1>Articles, page {k}</h1>\n<ul>\n{items}</ul>\n{chain}\n</body></html>\n"
        )
    return site


def ensure_nginx() -> str:
    """The nginx binary; Debian's package is installed with apt when it is missing."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found:
        return found
    print("nginx missing: apt-get install -y nginx", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"nginx exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nginx did not listen on 127.0.0.1:{port}")


def _check_readable(site: Site) -> None:
    for url in (site.index_urls()[0], site.base + site.page_path(0), site.base + "/x/a/b.png"):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
        except OSError as exc:
            raise SystemExit(
                f"nginx cannot serve {url} ({exc}): its workers run as 'nobody' and must be "
                f"able to read {site.root} and every folder above it"
            ) from exc


@contextmanager
def serve(site: Site, *, access_log: bool = False) -> Iterator[Site]:
    """Serve ``site`` with nginx on a free loopback port for the duration of the block;
    ``access_log``: nginx logs each request it answers (:meth:`Site.requests_logged`)."""
    nginx = ensure_nginx()
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        logged = Path(tmp) / "access.log" if access_log else None
        conf.write_text(
            NGINX_CONF.format(
                tmp=tmp,
                port=port,
                root=site.root,
                access_log=f"{logged} bench" if logged else "off",
            )
        )
        log = Path(tmp) / "error.log"
        process = subprocess.Popen(
            [nginx, "-p", tmp, "-c", str(conf), "-e", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(port, process, log)
            live = Site(
                site.root,
                site.pages,
                site.stems,
                f"http://127.0.0.1:{port}",
                site.requisites,
                logged,
            )
            _check_readable(live)
            yield live
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
