"""Scrapy's meta refresh, except on what a browser asked for.

A page the browser renders asks for HTML of its own at times (a ``fetch()`` of a
fragment, an iframe). Such a response goes back to the browser as the server sent it:
the browser reads a meta refresh for itself, and its next request comes through the
route again. Followed by Scrapy, the browser would be handed the target's body under
the first URL, and the page would be recorded as it never was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware

from crawler.browser.route import ROUTED_META

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.http import Response


class PageMetaRefresh(MetaRefreshMiddleware):
    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if ROUTED_META in request.meta:
            return response
        return super().process_response(request, response)
