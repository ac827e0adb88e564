"""Every response the local cited web sends, rendered once at start-up for both versions.

Version 2's table starts as a copy of version 1's and replaces only what ``content``
says changes, so every other response is the very same object: same body, same headers.
Each 200 response carries Last-Modified and an ETag (a digest of the bytes sent).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from importlib import resources

from crawler.localweb import content
from crawler.localweb.images import ico, png

Headers = tuple[tuple[str, str], ...]

_PLACEHOLDER = re.compile(r"\{base:([a-z]+)\}")


@dataclass(frozen=True)
class Response:
    """A ready-to-send response; ``headers`` hold all but Date and Server."""

    status: int
    headers: Headers
    body: bytes
    chunked: bool = False
    etag: str | None = None
    modified: datetime | None = None


Table = dict[tuple[str, str], Response]


def render(text: str, bases: dict[str, str]) -> str:
    """Fill ``{base:<outlet>}`` placeholders with the outlets' base URLs."""
    return _PLACEHOLDER.sub(lambda match: bases[match.group(1)], text)


def template(name: str) -> str:
    return (resources.files(__package__) / "site" / name).read_text(encoding="utf-8")


def _entity(
    body: bytes,
    content_type: str,
    modified: str = content.PUBLISHED,
    *,
    extra: Headers = (),
    transfer: content.Transfer = "length",
) -> Response:
    headers = [("Content-Type", content_type)]
    if transfer == "gzip":
        body = gzip.compress(body, mtime=0)  # mtime 0: the same bytes on every start
        headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    cache = "max-age=300" if content_type.startswith("text/html") else "max-age=86400"
    headers += [("Last-Modified", modified), ("ETag", etag), ("Cache-Control", cache), *extra]
    if transfer == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        headers.append(("Content-Length", str(len(body))))
    modified_at = parsedate_to_datetime(modified)
    return Response(200, tuple(headers), body, transfer == "chunked", etag, modified_at)


def _page(
    page: content.Page, bases: dict[str, str], name: str = "", modified: str = ""
) -> Response:
    text = render(template(name or page.template), bases)
    extra = tuple((header, render(value, bases)) for header, value in page.headers)
    content_type = "text/html"
    if page.charset_in == "header":
        content_type += f"; charset={page.charset}"
    return _entity(
        text.encode(page.charset),
        content_type,
        modified or page.modified,
        extra=extra,
        transfer=page.transfer,
    )


def _short(status: int, title: str, headers: Headers = ()) -> Response:
    body = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>{title}</title>'
        f"</head>\n<body><h1>{title}</h1></body>\n</html>\n"
    ).encode()
    length = ("Content-Length", str(len(body)))
    html = ("Content-Type", "text/html; charset=utf-8")
    return Response(status, (html, ("Cache-Control", "no-cache"), *headers, length), body)


#: the comments a site's robots.txt usually opens with (what makes the files of the
#: outlets that disallow nothing identical and a few hundred bytes, as on the web)
ROBOTS_PREAMBLE = """\
# robots.txt: which parts of this site web robots may visit.
# See RFC 9309, the Robots Exclusion Protocol.
#
# Automated access is also governed by the site's terms of use.
# Crawl politely: send a User-Agent with a contact address, and
# do not ask for more than one page a second.
#
"""


def _image_seed(outlet: str, path: str) -> int:
    return zlib.crc32(f"{outlet}{path}".encode())


class Site:
    """Both versions' response tables and each outlet's 404 page."""

    def __init__(self, bases: dict[str, str]) -> None:
        self.bases = bases
        self.not_found = {
            outlet.key: _short(404, f"Page not found - {outlet.name}") for outlet in content.OUTLETS
        }
        v1: Table = {}
        for outlet in content.OUTLETS:
            rules = "".join(f"Disallow: {path}\n" for path in outlet.disallow) or "Allow: /\n"
            robots = f"{ROBOTS_PREAMBLE}User-agent: *\n{rules}".encode()
            v1[outlet.key, "/robots.txt"] = _entity(robots, "text/plain; charset=utf-8")
            css = template(f"{outlet.key}/style.css").encode()
            v1[outlet.key, outlet.stylesheet] = _entity(css, "text/css; charset=utf-8")
            icon = ico(16, outlet.colour, _image_seed(outlet.key, "/favicon.ico"))
            v1[outlet.key, "/favicon.ico"] = _entity(icon, "image/x-icon")
        for key, path, width, height, colour in content.IMAGES:
            v1[key, path] = _entity(png(width, height, colour, _image_seed(key, path)), "image/png")
        self.pages = {(page.outlet, page.path): page for page in content.PAGES}
        for where, page in self.pages.items():
            v1[where] = _page(page, bases)
        for (key, path), target in content.REDIRECTS.items():
            v1[key, path] = _short(301, "Moved Permanently", (("Location", bases[key] + target),))

        v2 = dict(v1)
        for where, name in content.V2_EDITED.items():
            v2[where] = _page(self.pages[where], bases, name, content.EDITED)
        for where in content.V2_REMOVED:
            del v2[where]
        for (key, path), target in content.V2_REDIRECTED.items():
            v2[key, path] = _short(302, "Found", (("Location", bases[key] + target),))
        self.versions = {1: v1, 2: v2}

    def lookup(self, version: int, outlet: str, target: str) -> Response:
        """The response to ``target`` (path and query, as requested) on ``outlet``."""
        return self.versions[version].get((outlet, target)) or self.not_found[outlet]
