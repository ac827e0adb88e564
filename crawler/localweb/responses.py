"""Every response the local cited web sends, rendered once at start-up for both versions.

Version 2's table starts as a copy of version 1's and replaces only what ``content``
says changes, so every other response is the very same object: same body, same headers.
Each 200 response carries Last-Modified and an ETag (a digest of the bytes sent). The
video answers byte ranges (:func:`ranged`), as video hosts do for the browsers' players.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from crawler.localweb import content
from crawler.localweb.images import ico, png

Headers = tuple[tuple[str, str], ...]

_PLACEHOLDER = re.compile(r"\{base:([a-z]+)\}")
_BYTE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
# What each kind of response may be cached for (anything else: a day): an API's JSON is
# asked for again on every visit.
_CACHE = {"text/html": "max-age=300", "application/json": "no-cache"}


@dataclass(frozen=True)
class Response:
    """A ready-to-send response; ``headers`` hold all but Date and Server."""

    status: int
    headers: Headers
    body: bytes
    chunked: bool = False
    etag: str | None = None
    modified: datetime | None = None
    ranges: bool = False  # answers a Range request with the part asked for


Table = dict[tuple[str, str], Response]


def render(text: str, bases: dict[str, str]) -> str:
    """Fill ``{base:<outlet>}`` placeholders with the outlets' base URLs."""
    return _PLACEHOLDER.sub(lambda match: bases[match.group(1)], text)


def template(name: str) -> str:
    return (resources.files(__package__) / "site" / name).read_text(encoding="utf-8")


def site_bytes(name: str) -> bytes:
    return (resources.files(__package__) / "site" / name).read_bytes()


def _entity(
    body: bytes,
    content_type: str,
    modified: str = content.PUBLISHED,
    *,
    extra: Headers = (),
    transfer: content.Transfer = "length",
    ranges: bool = False,
) -> Response:
    headers = [("Content-Type", content_type)]
    if transfer == "gzip":
        body = gzip.compress(body, mtime=0)  # mtime 0: the same bytes on every start
        headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    cache = _CACHE.get(content_type.split(";")[0], "max-age=86400")
    headers += [("Last-Modified", modified), ("ETag", etag), ("Cache-Control", cache), *extra]
    if ranges:
        headers.append(("Accept-Ranges", "bytes"))
    if transfer == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        headers.append(("Content-Length", str(len(body))))
    modified_at = parsedate_to_datetime(modified)
    return Response(200, tuple(headers), body, transfer == "chunked", etag, modified_at, ranges)


def ranged(response: Response, range_header: str | None, if_range: str | None) -> Response:
    """The part of ``response`` that a ``Range`` header asks for (RFC 9110, section 14).

    One satisfiable byte range gives a 206 with its Content-Range; one that starts past
    the end, a 416. A response that takes no ranges, several ranges, a header that does
    not parse, or an ``If-Range`` validator that no longer matches give the whole response.
    """
    if not response.ranges or response.status != 200 or range_header is None:
        return response
    if if_range is not None and if_range not in (
        response.etag,
        dict(response.headers)["Last-Modified"],
    ):
        return response
    match = _BYTE_RANGE.fullmatch(range_header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return response
    size = len(response.body)
    first, last = match.group(1), match.group(2)
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return response
    else:  # the last N bytes
        start, end = max(size - int(last), 0), size - 1
    kept = [(name, value) for name, value in response.headers if name != "Content-Length"]
    if start >= size or (not first and int(last) == 0):
        headers = (*kept, ("Content-Range", f"bytes */{size}"), ("Content-Length", "0"))
        return replace(response, status=416, headers=headers, body=b"")
    part = response.body[start : end + 1]
    headers = (
        *kept,
        ("Content-Range", f"bytes {start}-{end}/{size}"),
        ("Content-Length", str(len(part))),
    )
    return replace(response, status=206, headers=headers, body=part)


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


_SCRIPTED_SIZES = {path: (width, height) for _, path, width, height, _ in content.SCRIPTED_IMAGES}


def _acjson(query: str, data: list[dict[str, object]], tip: str | None = None) -> Response:
    """A list of image results as Baidu's ``acjson`` gives it (the list ends with ``{}``)."""
    results: dict[str, object] = {
        "queryExt": query,
        "listNum": len(data),
        "displayNum": len(data),
        "bdFmtDispNum": f"约{len(data)}",
        "data": [*data, {}],
    }
    if tip is not None:
        results["tip"] = tip
    return _json(results)


def _acjson_image(
    bases: dict[str, str], image: str, size: tuple[int, int], caption: str, **more: object
) -> dict[str, object]:
    """One image of an ``acjson`` list."""
    width, height = size
    return {
        "thumbURL": bases["baidu"] + image,
        "width": width,
        "height": height,
        "type": "png",
        "fromPageTitleEnc": caption,
        **more,
    }


def _baidu_results(bases: dict[str, str], removed: set[str]) -> Response:
    """The image search's JSON."""
    data = [
        _acjson_image(bases, image, _SCRIPTED_SIZES[image], caption, bdImgnewsDate=date)
        for image, caption, date in content.BAIDU_RESULTS
        if image not in removed
    ]
    [word] = parse_qs(urlsplit(content.BAIDU_IMAGES).query)["word"]
    return _acjson(word, data)


def _name_results(bases: dict[str, str], version: int) -> Response:
    """The name search's JSON: version 2 lists fewer photos and says results were withheld."""
    sizes = {**{p: (w, h) for _, p, w, h, _ in content.IMAGES}, **_SCRIPTED_SIZES}
    removed = content.V2_NAME_REMOVED if version == 2 else ()
    data = [
        _acjson_image(bases, image, sizes[image], caption)
        for image, caption in content.BAIDU_NAME_RESULTS
        if image not in removed
    ]
    return _acjson(content.NAME, data, content.FILTERED_NOTICE if version == 2 else None)


def _tweet(bases: dict[str, str]) -> Response:
    """The post's JSON, as Twitter's API gives a status."""
    base = bases["twitter"]
    width, height = _SCRIPTED_SIZES[content.TWEET_PHOTO]
    name, screen_name = content.TWEET_USER
    tweet = {
        "created_at": content.TWEET_CREATED,
        "id_str": content.TWEET.rsplit("/", 1)[1],
        "full_text": content.TWEET_TEXT,
        "lang": "en",
        "user": {
            "name": name,
            "screen_name": screen_name,
            "profile_image_url_https": base + content.TWEET_AVATAR,
        },
        "extended_entities": {
            "media": [
                {
                    "type": "photo",
                    "media_url_https": base + content.TWEET_PHOTO,
                    "sizes": {"small": {"w": width, "h": height}},
                }
            ]
        },
    }
    return _json(tweet)


def _json(value: object) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return _entity(body, "application/json; charset=utf-8")


def _browser_only(bases: dict[str, str]) -> Table:
    """Version 1 of what only a browser asks for: scripts, JSON, inserted images, video."""
    table: Table = {
        ("baidu", content.BAIDU_IMAGES_JSON): _baidu_results(bases, set()),
        ("twitter", content.TWEET_SCRIPT): _entity(
            template(content.TWEET_SCRIPT_FILE).encode(), "text/javascript; charset=utf-8"
        ),
        ("twitter", content.TWEET_JSON): _tweet(bases),
        ("rumble", content.RUMBLE_CLIP): _entity(
            site_bytes(content.RUMBLE_CLIP_FILE), "video/webm", ranges=True
        ),
    }
    for key, path, width, height, colour in content.SCRIPTED_IMAGES:
        table[key, path] = _entity(png(width, height, colour, _image_seed(key, path)), "image/png")
    return table


class Site:
    """Both versions' response tables and each outlet's 404 page.

    ``browser_only``: what only a browser asks for (the scripted pages' scripts, JSON,
    inserted images and video), which no page links or names as a requisite.
    ``name_search``: by version, the image search for the name alone (its shell and JSON),
    which no page cites and the truth leaves out: the demo's search seed.
    """

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
        browser_only = _browser_only(bases)
        self.browser_only = set(browser_only)
        v1.update(browser_only)

        v2 = dict(v1)
        for where, name in content.V2_EDITED.items():
            v2[where] = _page(self.pages[where], bases, name, content.EDITED)
        for where in content.V2_REMOVED:
            del v2[where]
        for (key, path), target in content.V2_REDIRECTED.items():
            v2[key, path] = _short(302, "Found", (("Location", bases[key] + target),))
        removed = set(content.V2_SCRIPTED_IMAGE_REMOVED.values())
        v2["baidu", content.BAIDU_IMAGES_JSON] = _baidu_results(bases, removed)
        self.versions = {1: v1, 2: v2}
        shell = v1["baidu", content.BAIDU_IMAGES]
        self.name_search = {
            version: {
                ("baidu", content.BAIDU_NAME_SEARCH): shell,
                ("baidu", content.BAIDU_NAME_JSON): _name_results(bases, version),
            }
            for version in (1, 2)
        }

    def lookup(self, version: int, outlet: str, target: str) -> Response:
        """The response to ``target`` (path and query, as requested) on ``outlet``."""
        return (
            self.versions[version].get((outlet, target))
            or self.name_search[version].get((outlet, target))
            or self.not_found[outlet]
        )
