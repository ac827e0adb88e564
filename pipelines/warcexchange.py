"""What the WARC capture takes from Scrapy: an exchange as it went over the wire, warcinfo fields.

A body cut short at the size limit (:mod:`crawler.middlewares.oversize`, which marks the
request's meta with :data:`TRUNCATED_META`) is marked ``WARC-Truncated: length``.

Settings (for the warcinfo record): ``CRAWL_ID``, ``WARC_OPERATOR``, ``ROBOTSTXT_OBEY``,
``USER_AGENT``, ``SEEDS``.
"""

from __future__ import annotations

import platform
from datetime import datetime
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from scrapy.utils.httpobj import urlparse_cached

from pipelines.warcrecords import Exchange
from storage import __version__

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Headers, Response


#: request meta key: why the download was cut short ("length": at the size limit)
TRUNCATED_META = "warc_truncated"


def truncation_of(request: Request, response: Response) -> str | None:
    """The ``WARC-Truncated`` reason for a response, None when it is whole."""
    if "download_stopped" not in response.flags:
        return None
    return request.meta.get(TRUNCATED_META, "unspecified")


def _header_pairs(headers: Headers) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


def exchange_from(request: Request, response: Response, now: datetime) -> Exchange:
    parsed = urlparse_cached(request)
    target = parsed.path or "/"
    if parsed.params:
        target += ";" + parsed.params
    if parsed.query:
        target += "?" + parsed.query
    host = parsed.netloc.rpartition("@")[2]
    return Exchange(
        url=response.url,
        method=request.method,
        request_target=target,
        request_headers=[("Host", host), *_header_pairs(request.headers)],
        request_body=request.body,
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        response_headers=_header_pairs(response.headers),
        body=response.body,
        date=now,
        ip_address=str(response.ip_address) if response.ip_address else None,
        truncated=truncation_of(request, response),
    )


def warcinfo_fields(settings: Any) -> dict[str, str]:
    return {
        "software": f"scrubwatch/{__version__} (Scrapy {version('scrapy')}, "
        f"warcio {version('warcio')}, Python {platform.python_version()})",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "isPartOf": settings.get("CRAWL_ID"),
        "operator": settings.get("WARC_OPERATOR"),
        "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        "http-header-user-agent": settings.get("USER_AGENT"),
        "seeds": " ".join(settings.getlist("SEEDS")),
        "hostname": platform.node(),
    }
