"""crawler/middlewares/compression.py: Scrapy's decompression, without detecting a
charset on the compressed bytes."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
import scrapy.http.response.text as scrapy_text
from scrapy import Request
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.compression import DecompressWithoutDetection

# windows-1252 text that declares no charset: Scrapy has to detect it.
PAGE = "<html><body><p>Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9</p></body></html>"
BODY = PAGE.encode("cp1252")


@pytest.fixture
def middleware() -> DecompressWithoutDetection:
    return DecompressWithoutDetection.from_crawler(get_crawler())


@pytest.fixture
def detected(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes Scrapy's charset detection (charset_normalizer) is run on."""
    seen: list[bytes] = []
    real = scrapy_text.from_bytes

    def spy(data: bytes, *args: Any, **kwargs: Any) -> Any:
        seen.append(bytes(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(scrapy_text, "from_bytes", spy)
    return seen


def _response(body: bytes, **headers: str) -> HtmlResponse:
    url = "http://127.0.0.1/page"
    return HtmlResponse(url, body=body, headers=headers, request=Request(url))


def test_gzip_html_is_decoded_and_its_charset_found_on_the_text(
    middleware: DecompressWithoutDetection, detected: list[bytes]
) -> None:
    compressed = gzip.compress(BODY)
    response = _response(compressed, **{"Content-Type": "text/html", "Content-Encoding": "gzip"})
    decoded = middleware.process_response(Request(response.url), response)
    assert isinstance(decoded, HtmlResponse)
    assert decoded.body == BODY
    assert "Content-Encoding" not in decoded.headers
    assert "Caf\u00e9 cr\u00e8me" in decoded.text
    assert compressed not in detected  # Scrapy's own middleware runs it on these
    assert detected == [BODY]  # once, on the decoded page, when its text is asked for


def test_scrapy_alone_detects_on_the_compressed_bytes(detected: list[bytes]) -> None:
    """What the subclass is for: if Scrapy stops doing this, it can go."""
    compressed = gzip.compress(BODY)
    response = _response(compressed, **{"Content-Type": "text/html", "Content-Encoding": "gzip"})
    HttpCompressionMiddleware.from_crawler(get_crawler()).process_response(
        Request(response.url), response
    )
    assert compressed in detected


def test_other_responses_are_what_scrapy_makes_of_them(
    middleware: DecompressWithoutDetection,
) -> None:
    scrapy_own = HttpCompressionMiddleware.from_crawler(get_crawler())
    unknown = _response(b"<html>x</html>", **{"Content-Encoding": "compress"})
    ours = middleware.process_response(Request(unknown.url), unknown)
    theirs = scrapy_own.process_response(Request(unknown.url), unknown)
    assert (type(ours), ours.body, ours.headers) == (type(theirs), theirs.body, theirs.headers)
    head = _response(gzip.compress(BODY), **{"Content-Encoding": "gzip"})
    assert middleware.process_response(Request(head.url, method="HEAD"), head) is head
    plain = Response("http://127.0.0.1/x.gif", body=gzip.compress(b"GIF89a"))
    plain.headers["Content-Encoding"] = "gzip"
    assert middleware.process_response(Request(plain.url), plain).body == b"GIF89a"
