"""Meta refreshes are followed for the crawl's own requests, never for the browser's."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.browser.route import ROUTED_META
from crawler.middlewares.metarefresh import PageMetaRefresh

REFRESH = b'<html><head><meta http-equiv="refresh" content="0; url=/moved"></head></html>'


def answer(request: Request) -> HtmlResponse:
    return HtmlResponse(request.url, body=REFRESH, request=request)


def test_a_crawl_request_follows_the_refresh() -> None:
    middleware = PageMetaRefresh.from_crawler(get_crawler())
    request = Request("http://127.0.0.1/fragment")
    followed = middleware.process_response(request, answer(request))
    assert isinstance(followed, Request) and followed.url == "http://127.0.0.1/moved"


def test_a_browser_request_gets_the_page_as_sent() -> None:
    middleware = PageMetaRefresh.from_crawler(get_crawler())
    request = Request("http://127.0.0.1/fragment", meta={ROUTED_META: {"page": "p"}})
    response = answer(request)
    assert middleware.process_response(request, response) is response
