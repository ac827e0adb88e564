"""The local cited web: outlets on their own addresses, encodings, transfer codings, versions."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import socket
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import pytest

from crawler.localweb import LocalWeb

Fetched = tuple[int, list[tuple[str, str]], bytes]


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Fetched:
    """One request without following redirects or decoding anything."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def header(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


class Collector(HTMLParser):
    """Anchors (split by whether they sit in the article body) and page requisites."""

    def __init__(self) -> None:
        super().__init__()
        self.body_links: list[str] = []
        self.other_links: list[str] = []
        self.requisites: list[str] = []
        self._body_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "div":
            if self._body_depth or a.get("class") == "entry-content":
                self._body_depth += 1
        elif tag == "a" and "href" in a:
            (self.body_links if self._body_depth else self.other_links).append(a["href"])
        elif tag == "link" and a.get("rel") in ("stylesheet", "icon"):
            self.requisites.append(a["href"])
        elif tag == "meta" and a.get("property", a.get("name")) in ("og:image", "twitter:image"):
            self.requisites.append(a["content"])
        if tag in ("img", "source"):
            self.requisites += [a["src"]] if "src" in a else []
            candidates = a.get("srcset", "").split(",")
            self.requisites += [c.split()[0] for c in candidates if c.strip()]

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._body_depth:
            self._body_depth -= 1


def collect(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    return collector


def test_each_outlet_answers_on_its_own_address(localweb: LocalWeb) -> None:
    titles = set()
    for key, base in localweb.outlets.items():
        address = urlsplit(base).hostname
        status, _, body = fetch(base + "/")
        assert status == 200
        assert localweb.request_log[-1] == (address, "GET", "/", 200)
        titles.add(body.split(b"<title>")[1].split(b"</title>")[0])
        assert fetch(base + "/robots.txt")[0] == 200, key
    assert len(titles) == len(localweb.outlets) == 10
    assert localweb.url("telegraph", "/news/x") == f"http://127.0.0.3:{localweb.port}/news/x"
    assert len({urlsplit(base).port for base in localweb.outlets.values()}) == 1


def test_seed_body_cites_the_other_outlets_and_nothing_else(localweb: LocalWeb) -> None:
    expected = localweb.expected()
    _, _, body = fetch(localweb.seed_url)
    page = collect(body.decode())
    seed = localweb.seed_url
    cited = [urljoin(seed, href) for href in page.body_links]
    assert cited == [c["url"] for c in expected["cited"]]
    assert {c["outlet"] for c in expected["cited"]} >= set(localweb.outlets) - {"blog"}
    assert [urljoin(seed, h) for h in dict.fromkeys(page.other_links)] == expected["not_cited"]
    assert set(expected["pages"][seed]["links"]) == set(cited + expected["not_cited"])


def test_cited_pages_answer_as_expected(localweb: LocalWeb) -> None:
    expected = localweb.expected()
    for cited in expected["cited"]:
        try:
            with urllib.request.urlopen(cited["url"], timeout=10) as response:
                final_url, status = response.url, response.status
        except urllib.error.HTTPError as error:
            final_url, status = error.url, error.code
        assert (final_url, status) == (cited["final_url"], cited["status"])
    assert expected["not_found"] == [localweb.url("rumble", "/v2kq1xa-dong-jingwei-defection.html")]
    [(short, hops)] = expected["redirects"].items()
    status, headers, _ = fetch(short)
    assert [[status, header(headers, "Location")[0]]] == hops == [[301, hops[0][1]]]


def test_robots_txt_disallows_only_the_private_page(localweb: LocalWeb) -> None:
    expected = localweb.expected()
    assert expected["robots_disallowed"] == [
        localweb.url("spytalk", "/private/dong-yang-flight-manifest")
    ]
    for cited in expected["cited"]:
        robots = RobotFileParser(urljoin(cited["url"], "/robots.txt"))
        robots.read()
        assert robots.can_fetch("scrubwatch", cited["url"]) is not cited["robots_disallowed"]
    assert all(
        path != "/private/dong-yang-flight-manifest" for _, _, path, _ in localweb.request_log
    )


def test_upi_article_is_sent_gzip_encoded(localweb: LocalWeb) -> None:
    [page] = [
        url for url, page in localweb.expected()["pages"].items() if page["transfer"] == "gzip"
    ]
    status, headers, body = fetch(page)
    assert status == 200
    assert header(headers, "Content-Encoding") == ["gzip"]
    assert header(headers, "Content-Length") == [str(len(body))]
    assert body[:2] == b"\x1f\x8b"
    assert b"<title>Rumors swirl about whereabouts" in gzip.decompress(body)


def test_spytalk_post_is_sent_chunked(localweb: LocalWeb) -> None:
    [page] = [
        url for url, page in localweb.expected()["pages"].items() if page["transfer"] == "chunked"
    ]
    parts = urlsplit(page)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("GET", parts.path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.chunked
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Length") is None
    assert body.rstrip().endswith(b"</html>")

    request = f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        sock.sendall(request.encode())
        raw = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert payload.startswith(b"400\r\n") and payload.endswith(b"\r\n0\r\n\r\n")  # 1 KiB chunks


def test_one_connection_is_kept_alive_across_responses(localweb: LocalWeb) -> None:
    expected = localweb.expected()
    urls = [c["url"] for c in expected["cited"] if c["outlet"] == "spytalk"]
    parts = urlsplit(urls[0])
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    sockets = []
    try:
        for path in ("/", parts.path, "/no-such-page", "/favicon.ico", parts.path):
            conn.request("HEAD" if path == "/" else "GET", path)
            response = conn.getresponse()
            response.read()
            assert not response.will_close
            sockets.append(conn.sock)
    finally:
        conn.close()
    assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)
    assert [status for *_, status in localweb.request_log] == [200, 200, 404, 200, 200]


def test_big5_and_gb18030_pages_decode_to_their_chinese_titles(localweb: LocalWeb) -> None:
    pages = localweb.expected()["pages"]
    ltn = localweb.url("ltn", "/news/world/breakingnews/3569513")
    _, headers, body = fetch(ltn)
    assert header(headers, "Content-Type") == ["text/html"]  # declared only in the page
    assert b'<meta charset="big5">' in body
    assert f"<title>{pages[ltn]['title']}</title>" in body.decode("big5")
    assert "董經緯" in pages[ltn]["title"]

    baidu = next(
        url for url, page in pages.items() if page["charset"] == "gb18030" and "董" in page["title"]
    )
    _, headers, body = fetch(baidu)
    assert header(headers, "Content-Type") == ["text/html; charset=gb18030"]
    assert "<title>董经纬_百度图片搜索</title>" in body.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_pages_reference_exactly_their_requisites(localweb: LocalWeb) -> None:
    for url, page in localweb.expected()["pages"].items():
        status, headers, body = fetch(url)
        html = (gzip.decompress(body) if page["transfer"] == "gzip" else body).decode(
            page["charset"]
        )
        found = {urljoin(url, src) for src in collect(html).requisites}
        assert found == set(page["requisites"]), url
        for requisite in page["requisites"]:
            status, headers, body = fetch(requisite)
            assert status == 200 and body, requisite
            assert header(headers, "Content-Type")[0].startswith(("image/", "text/css")), requisite


def test_images_are_distinct_pngs_of_a_few_kilobytes(localweb: LocalWeb) -> None:
    pages = localweb.expected()["pages"].values()
    images = {url for page in pages for url in page["requisites"] if url.endswith(".png")}
    digests = set()
    for url in images:
        _, headers, body = fetch(url)
        assert header(headers, "Content-Type") == ["image/png"]
        assert body.startswith(b"\x89PNG\r\n\x1a\n") and 1_000 < len(body) < 20_000
        digests.add(hashlib.sha256(body).hexdigest())
    assert len(digests) == len(images) > 15


def test_depth_one_page_links_two_more_articles_of_its_outlet(localweb: LocalWeb) -> None:
    depth1 = localweb.expected()["depth1"]
    links = localweb.expected()["pages"][depth1["page"]]["links"]
    telegraph = localweb.outlets["telegraph"]
    assert [link for link in links if link.startswith(telegraph + "/news/")] == depth1["articles"]
    assert [link for link in links if not link.startswith(telegraph)] == depth1["other_outlet"]
    assert all(fetch(article)[0] == 200 for article in depth1["articles"])


def test_repeated_headers_are_sent_repeated(localweb: LocalWeb) -> None:
    repeated = localweb.expected()["repeated_headers"]
    assert {name for headers in repeated.values() for name in headers} == {"Set-Cookie", "Link"}
    for url, headers in repeated.items():
        _, sent, _ = fetch(url)
        for name, values in headers.items():
            assert len(values) == 2
            assert header(sent, name) == values


def test_conditional_requests_get_304(localweb: LocalWeb) -> None:
    url = localweb.url("stream", "/2021/06/17/what-dong-jingwei-may-have-given-the-dia/")
    _, headers, _ = fetch(url)
    [etag], [modified] = header(headers, "ETag"), header(headers, "Last-Modified")
    status, headers, body = fetch(url, headers={"If-None-Match": etag})
    assert (status, body, header(headers, "ETag")) == (304, b"", [etag])
    assert fetch(url, headers={"If-None-Match": '"other", ' + etag})[0] == 304
    assert fetch(url, headers={"If-None-Match": '"other"'})[0] == 200
    assert fetch(url, headers={"If-Modified-Since": modified})[0] == 304
    assert fetch(url, headers={"If-Modified-Since": "Sun, 20 Jun 2021 00:00:00 GMT"})[0] == 200
    assert fetch(url, method="HEAD", headers={"If-None-Match": etag})[0] == 304
    localweb.set_version(2)  # the page was edited: the old validators no longer match
    assert fetch(url, headers={"If-None-Match": etag})[0] == 200
    assert fetch(url, headers={"If-Modified-Since": modified})[0] == 200


def test_head_sends_headers_only_and_everything_is_logged(localweb: LocalWeb) -> None:
    status, headers, body = fetch(localweb.seed_url, method="HEAD")
    assert (status, body) == (200, b"")
    assert int(header(headers, "Content-Length")[0]) > 1000
    assert fetch(localweb.url("blog", "/nope"))[0] == 404
    assert localweb.request_log[-2:] == [
        ("127.0.0.2", "HEAD", urlsplit(localweb.seed_url).path, 200),
        ("127.0.0.2", "GET", "/nope", 404),
    ]


def snapshot(localweb: LocalWeb) -> dict[str, Fetched]:
    urls = localweb.expected()["resources"]
    return {url: fetch(url) for url in urls}


def without_date(fetched: Fetched) -> tuple[int, list[tuple[str, str]], bytes]:
    status, headers, body = fetched
    return status, [(k, v) for k, v in headers if k != "Date"], body


def test_version_two_changes_exactly_what_expected_says(localweb: LocalWeb) -> None:
    expected = localweb.expected()
    v1 = snapshot(localweb)
    localweb.set_version(2)
    assert localweb.expected()["version"] == 2
    v2 = snapshot(localweb)
    changed = {url for url in v1 if without_date(v1[url]) != without_date(v2[url])}
    assert changed == set(expected["changes"])
    kinds = sorted(change["kind"] for change in expected["changes"].values())
    assert kinds == ["edited", "image-removed", "redirected", "removed", "removed"]

    for url, change in expected["changes"].items():
        status, headers, body = v2[url]
        old = v1[url][2]
        if change["kind"] == "removed":
            assert status == 404
        elif change["kind"] == "redirected":
            assert (status, header(headers, "Location")) == (302, [change["location"]])
        elif change["kind"] == "edited":
            before, after = old.decode(), body.decode()
            assert all(p in before and p not in after for p in change["removed"])
            assert all(p in after and p not in before for p in change["added"])
            assert all(a in before and b in after and a not in after for a, b in change["changed"])
        else:
            assert change["kind"] == "image-removed"
            image_path = urlsplit(change["image"]).path
            assert image_path.encode() in old and image_path.encode() not in body
            assert hashlib.sha256(v1[change["image"]][2]).hexdigest() == change["sha256"]
            assert v2[change["image"]][0] == 404

    localweb.set_version(1)
    assert without_date(fetch(localweb.seed_url)) == without_date(v1[localweb.seed_url])


def test_set_version_rejects_unknown_versions(localweb: LocalWeb) -> None:
    with pytest.raises(ValueError, match="1 or 2"):
        localweb.set_version(3)


def test_registry_lists_every_outlet_with_its_address(
    localweb_registry: Path, localweb: LocalWeb
) -> None:
    registry = tomllib.loads(localweb_registry.read_text(encoding="utf-8"))["outlets"]
    assert set(registry) == {f"localweb-{key}" for key in localweb.outlets}
    telegraph = registry["localweb-telegraph"]
    assert telegraph["domains"] == ["127.0.0.3"]
    assert telegraph["start_urls"] == [
        localweb.url("telegraph", "/news/dong-jingwei-defection"),
        localweb.url("telegraph"),
    ]
    assert registry["localweb-blog"]["start_urls"] == [localweb.url("blog")]
    assert "Daily Telegraph Australia" in telegraph["aliases"]
    assert registry["localweb-upi"]["case_sensitive_aliases"] == ["UPI"]


def test_a_second_web_cannot_take_a_port_in_use(localweb: LocalWeb) -> None:
    with pytest.raises(OSError):
        LocalWeb(port=localweb.port).start()


def test_module_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.localweb", "--port", "0", "--version", "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        seed = process.stdout.readline().removeprefix("seed: ").strip()
        assert fetch(seed)[0] == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
