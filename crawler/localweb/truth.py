"""The truth about a running local cited web, for tests: ``LocalWeb.expected()``.

Built from the hand-written declarations in ``content`` (citations, requisites, what
version 2 changes) and, for redirects and statuses, from the responses actually served.
Plain lists and dicts of absolute URLs, so tests can compare it or dump it as JSON:

- ``version``: the version being served; ``seed_url``; ``outlets``: key -> base URL.
- ``cited``: the seed body's links in document order, each ``{url, outlet, final_url,
  status, redirects: [[status, location], ...], robots_disallowed}``; ``final_url`` and
  ``status`` are what following the redirects gives in version 1.
- ``not_cited``: the seed page's other links (skip link, nav, byline, share, footer).
- ``pages``: every HTML page of version 1, URL -> ``{outlet, title, charset,
  charset_declared_in: "header" | "meta", transfer: "length" | "gzip" | "chunked",
  requisites: [stylesheet, favicon, images...], links: [every <a href>, resolved]}``.
- ``depth1``: ``{page, articles, other_outlet}``: the cited page linking two more articles
  of its outlet (found by a depth-1 crawl) and one article of another outlet.
- ``robots_disallowed``, ``not_found``: cited URLs; ``redirects``: cited URL -> its hops.
- ``repeated_headers``: URL -> header name -> the values sent, in order.
- ``changes``: what version 2 changes, URL -> ``{"kind": "edited", "removed": [...],
  "added": [...], "changed": [[old, new], ...]}``, ``{"kind": "image-removed", "image":
  url, "sha256": hex}``, ``{"kind": "removed"}`` (now 404) or ``{"kind": "redirected",
  "status": 302, "location": url}``.
- ``resources``: every URL version 1 serves but those only a browser asks for; all but
  those in ``changes`` answer the same bytes and headers (but Date) in both versions.
- ``browser``: what only a browser sees. The keys above hold for a crawl without one,
  which gets the scripted pages' shells (in ``cited`` and ``pages``) and nothing more.

  - ``pages``: each page that script builds, URL -> ``{kind: "image-search" | "post" |
    "video", outlet, title (once rendered), resources: [the page, then every URL the
    browser requests for it: stylesheet, favicon, scripts, JSON, images, video; in no
    fixed order, as the browser's varies], images: [those
    script inserts, in document order], text: what script writes ("" if nothing),
    video: URL | None}``, as in version 1. The shells are the same bytes in both
    versions; only the JSON behind them changes.
  - ``changes``: what version 2 changes on them, URL -> ``{"kind": "image-removed",
    "image": url, "sha256": hex}``: the results JSON no longer lists the image, which
    still answers 200 with the same bytes.
  - ``resources``: every URL only a browser asks for (scripts, JSON, images, video);
    ``sha256``: URL -> the SHA-256 of its version 1 body.
"""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from crawler.localweb import content
from crawler.localweb.responses import Site, render, template


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href is not None:
            self.hrefs.append(href)


def _links(html: str, page_url: str) -> list[str]:
    parser = _Anchors()
    parser.feed(html)
    return list(dict.fromkeys(urljoin(page_url, href) for href in parser.hrefs))


def _follow(site: Site, outlet: str, path: str) -> tuple[str, int, list[list[Any]]]:
    """Where a cited URL ends in version 1: final URL, status and the redirects on the way."""
    bases = site.bases
    hops: list[list[Any]] = []
    response = site.lookup(1, outlet, path)
    while response.status in (301, 302):
        location = dict(response.headers)["Location"]
        hops.append([response.status, location])
        outlet = next(key for key, base in bases.items() if location.startswith(base + "/"))
        path = location.removeprefix(bases[outlet])
        response = site.lookup(1, outlet, path)
    return bases[outlet] + path, response.status, hops


def _cited(site: Site) -> list[dict[str, Any]]:
    disallow = {outlet.key: outlet.disallow for outlet in content.OUTLETS}
    cited = []
    for outlet, path in content.CITED:
        final_url, status, hops = _follow(site, outlet, path)
        cited.append(
            {
                "url": site.bases[outlet] + path,
                "outlet": outlet,
                "final_url": final_url,
                "status": status,
                "redirects": hops,
                "robots_disallowed": any(path.startswith(rule) for rule in disallow[outlet]),
            }
        )
    return cited


def _pages(site: Site) -> dict[str, dict[str, Any]]:
    bases = site.bases
    pages = {}
    for (outlet, path), page in site.pages.items():
        base = bases[outlet]
        requisites = (content.STYLESHEETS[outlet], "/favicon.ico", *page.images)
        pages[base + path] = {
            "outlet": outlet,
            "title": page.title,
            "charset": page.charset,
            "charset_declared_in": page.charset_in,
            "transfer": page.transfer,
            "requisites": [base + requisite for requisite in requisites],
            "links": _links(render(template(page.template), bases), base + path),
        }
    return pages


def _changes(site: Site) -> dict[str, dict[str, Any]]:
    """What version 2 of the site changed, by cited URL."""
    bases, v1 = site.bases, site.versions[1]

    def url(outlet: str, path: str) -> str:
        return bases[outlet] + path

    changes: dict[str, dict[str, Any]] = {}
    for (outlet, path), image in content.V2_IMAGE_REMOVED.items():
        digest = hashlib.sha256(v1[outlet, image].body).hexdigest()
        changes[url(outlet, path)] = {
            "kind": "image-removed",
            "image": url(outlet, image),
            "sha256": digest,
        }
    for where in content.V2_EDITED.keys() - content.V2_IMAGE_REMOVED.keys():
        changes[url(*where)] = {"kind": "edited", **content.V2_EDITS[where]}
    for where in content.V2_REMOVED:
        changes[url(*where)] = {"kind": "removed"}
    for (outlet, path), target in content.V2_REDIRECTED.items():
        changes[url(outlet, path)] = {
            "kind": "redirected",
            "status": 302,
            "location": url(outlet, target),
        }
    return changes


def _browser(site: Site) -> dict[str, Any]:
    """What only a browser sees: the scripted pages, what they load, what version 2 drops."""
    bases, v1 = site.bases, site.versions[1]

    def url(outlet: str, path: str) -> str:
        return bases[outlet] + path

    pages = {
        url(page.outlet, page.path): {
            "kind": page.kind,
            "outlet": page.outlet,
            "title": page.title,
            "resources": [url(page.outlet, path) for path in (page.path, *page.loads)],
            "images": [url(page.outlet, image) for image in page.images],
            "text": page.text,
            "video": url(page.outlet, page.video) if page.video else None,
        }
        for page in content.SCRIPTED
    }
    changes = {
        url(outlet, path): {
            "kind": "image-removed",
            "image": url(outlet, image),
            "sha256": hashlib.sha256(v1[outlet, image].body).hexdigest(),
        }
        for (outlet, path), image in content.V2_SCRIPTED_IMAGE_REMOVED.items()
    }
    only = [where for where in v1 if where in site.browser_only]
    return {
        "pages": pages,
        "changes": changes,
        "resources": [url(*where) for where in only],
        "sha256": {url(*where): hashlib.sha256(v1[where].body).hexdigest() for where in only},
    }


def build(site: Site) -> dict[str, Any]:
    bases, v1 = site.bases, site.versions[1]

    def url(outlet: str, path: str) -> str:
        return bases[outlet] + path

    cited = _cited(site)
    seed_url = url("blog", content.SEED)
    telegraph_url = url("telegraph", content.TELEGRAPH)
    return {
        "seed_url": seed_url,
        "outlets": dict(bases),
        "cited": cited,
        "not_cited": [urljoin(seed_url, render(href, bases)) for href in content.NOT_CITED],
        "pages": _pages(site),
        "depth1": {
            "page": telegraph_url,
            "articles": [urljoin(telegraph_url, path) for path in content.TELEGRAPH_RELATED],
            "other_outlet": [url("scmp", content.SCMP)],
        },
        "robots_disallowed": [c["url"] for c in cited if c["robots_disallowed"]],
        "not_found": [c["url"] for c in cited if c["status"] == 404],
        "redirects": {c["url"]: c["redirects"] for c in cited if c["redirects"]},
        "repeated_headers": {
            url(*where): {
                name: [value for header, value in v1[where].headers if header == name]
                for name, _ in site.pages[where].headers
            }
            for where, page in site.pages.items()
            if page.headers
        },
        "changes": _changes(site),
        "resources": [url(*where) for where in v1 if where not in site.browser_only],
        "browser": _browser(site),
    }
