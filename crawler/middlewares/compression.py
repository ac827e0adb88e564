"""Scrapy's HttpCompressionMiddleware, without charset detection run on compressed bytes.

``HttpCompressionMiddleware.process_response`` builds the decoded response with
``response.replace(cls=..., body=decoded, encoding=None)``, and ``Response.replace``
reads every attribute of the old response first (``kwargs.setdefault(x, getattr(self,
x))`` evaluates the ``getattr`` even when the key is given). For a gzip-encoded HTML
response that old response is a ``TextResponse`` holding the *compressed* bytes, so its
``encoding`` property runs Scrapy's detection on them: gzip bytes are neither ASCII nor
UTF-8, and ``charset_normalizer`` reads the whole body, to no use (the new response
detects its own encoding again, on the decoded text). What that costs the crawl process
is measured in bench/README.md, "Where the time goes".

Here such a response is handed to Scrapy's middleware as a plain :class:`Response`,
which has no ``encoding`` to read; everything else is Scrapy's own code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.http import Response, TextResponse

if TYPE_CHECKING:
    from scrapy import Request, Spider


class DecompressWithoutDetection(HttpCompressionMiddleware):
    """Drop-in for Scrapy's HttpCompressionMiddleware (same settings, stats and limits)."""

    def process_response(
        self,
        request: Request,
        response: Response,
        spider: Spider | None = None,  # Scrapy's signature; it passes none (not required)
    ) -> Request | Response:
        if not isinstance(response, TextResponse) or not response.headers.get("Content-Encoding"):
            return super().process_response(request=request, response=response)
        plain = Response(**{name: getattr(response, name) for name in Response.attributes})
        result = super().process_response(request=request, response=plain)
        return response if result is plain else result  # not decoded: as it came
