"""Builds WARC 1.1 records for one HTTP exchange; writing them is another module's job.

Every record is serialised with warcio's record builder and compressed as one gzip
member of its own, so that a record can be read back from its offset alone and a
file can be trimmed at any member boundary. Digests are SHA-256 in hex
(``sha256:<hex>``), computed here so that dedup can compare payloads before
anything is written.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from storage.cdxjlines import IndexFields, index_fields

WARC_VERSION = "WARC/1.1"
REVISIT_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
REVISIT_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
#: Request headers whose values never go into an archive.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
REDACTED = "[redacted]"
# Level 6: much faster than 9 for a file hardly larger (bench/README.md).
GZIP_LEVEL = 6
#: A response whose body is already compressed is stored in its gzip member without
#: deflating it again: deflate saves next to nothing on such bytes and costs the crawl
#: process as much time as on text (bench/README.md).
STORED = 0
_ENCODED = ("gzip", "x-gzip", "br", "deflate", "zstd", "compress")
_COMPRESSED_TYPES = (
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif",
    "video/", "audio/", "font/woff", "application/zip", "application/gzip",
)  # fmt: skip
_STORE_FROM = 512  # a few hundred bytes of headers would weigh more than the gain

Headers = list[tuple[str, str]]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def warc_date(moment: datetime) -> str:
    return datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None), use_micros=True)


def new_record_id() -> str:
    return StatusAndHeadersParser.make_warc_id()


@dataclass(frozen=True)
class Exchange:
    """One request and its response, as they went over the wire."""

    url: str
    method: str
    request_target: str
    request_headers: Headers
    request_body: bytes
    protocol: str
    status: int
    response_headers: Headers
    body: bytes
    date: datetime
    ip_address: str | None = None
    truncated: str | None = None
    #: the memento URL of a capture imported from another archive (WARC-Source-URI)
    source_uri: str | None = None


@dataclass(frozen=True)
class Original:
    """Where a payload was first archived: what a revisit record refers to."""

    uri: str
    date: str
    record_id: str


@dataclass
class ExchangeRecords:
    """The gzip members of one exchange, in file order, and facts about them."""

    members: list[bytes]
    record_type: str
    payload_digest: str
    record_id: str
    warc_date: str
    refers_to: Original | None = None
    sizes: list[int] = field(default_factory=list)
    #: each member's CDXJ line but for where it lies (None: not indexed, a request)
    index: list[IndexFields | None] = field(default_factory=list)


@dataclass(frozen=True)
class Member:
    """One record as a gzip member, and its CDXJ line but for where it lies."""

    data: bytes
    index: IndexFields | None


def record_index(record: ArcWarcRecord) -> IndexFields | None:
    """The CDXJ fields of a built record, from its headers as cdxj-indexer reads them."""
    headers, http = record.rec_headers, record.http_headers
    if record.rec_type in ("response", "revisit"):
        content_type = http.get_header("Content-Type") if http else None
        status = http.get_statuscode() if http else None
    else:
        content_type, status = headers.get_header("Content-Type"), None
    return index_fields(
        record.rec_type,
        headers.get_header("WARC-Target-URI"),
        headers.get_header("WARC-Date"),
        content_type=content_type,
        status=status,
        digest=headers.get_header("WARC-Payload-Digest"),
    )


def gzip_member(record_bytes: bytes, level: int = GZIP_LEVEL) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(record_bytes) + compressor.flush()


def precompressed(exchange: Exchange) -> bool:
    """Whether the response body is compressed already (content coding or media type)."""
    if len(exchange.body) < _STORE_FROM:
        return False
    for name, value in exchange.response_headers:
        name = name.lower()
        if name == "content-encoding" and value.strip().lower() in _ENCODED:
            return True
        if name == "content-type" and value.strip().lower().startswith(_COMPRESSED_TYPES):
            return True
    return False


def serialize(record: object) -> bytes:
    out = BytesIO()
    WARCWriter(out, gzip=False, warc_version=WARC_VERSION).write_record(record)
    return out.getvalue()


def _builder() -> RecordBuilder:
    return RecordBuilder(warc_version=WARC_VERSION)


def redact(headers: Iterable[tuple[str, str]]) -> Headers:
    return [(k, REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers]


def _response_http_headers(exchange: Exchange) -> StatusAndHeaders:
    """The response's status line and headers, their serialised form computed."""
    try:
        reason = HTTPStatus(exchange.status).phrase
    except ValueError:  # a status code no standard names
        reason = ""
    # The body was de-chunked on the way in: a chunked header over it would lie.
    headers = [(k, v) for k, v in exchange.response_headers if k.lower() != "transfer-encoding"]
    http_headers = StatusAndHeaders(
        f"{exchange.status} {reason}".strip(), headers, protocol=exchange.protocol
    )
    http_headers.compute_headers_buffer()
    return http_headers


def _request_http_headers(exchange: Exchange) -> StatusAndHeaders:
    return StatusAndHeaders(
        f"{exchange.method} {exchange.request_target} {exchange.protocol}",
        redact(exchange.request_headers),
        is_http_request=True,
    )


def _warc_headers(
    exchange: Exchange, record_id: str, date: str, payload_digest: str
) -> dict[str, str]:
    """The WARC headers a response and a revisit share."""
    headers = {
        "WARC-Record-ID": record_id,
        "WARC-Date": date,
        "WARC-Payload-Digest": payload_digest,
    }
    if exchange.ip_address:
        headers["WARC-IP-Address"] = exchange.ip_address
    if exchange.source_uri:
        headers["WARC-Source-URI"] = exchange.source_uri
    return headers


def build_response(
    exchange: Exchange, *, record_id: str, date: str, payload_digest: str
) -> ArcWarcRecord:
    """The response record: the HTTP headers and the payload as they came off the wire."""
    http_headers = _response_http_headers(exchange)
    header_bytes: bytes = http_headers.headers_buff
    warc_headers = _warc_headers(exchange, record_id, date, payload_digest)
    warc_headers["WARC-Block-Digest"] = sha256_digest(header_bytes + exchange.body)
    if exchange.truncated:
        warc_headers["WARC-Truncated"] = exchange.truncated
    return _builder().create_warc_record(
        exchange.url,
        "response",
        payload=BytesIO(exchange.body),
        length=len(exchange.body),
        http_headers=http_headers,
        warc_headers_dict=warc_headers,
    )


def build_revisit(
    exchange: Exchange,
    *,
    record_id: str,
    date: str,
    payload_digest: str,
    original: Original | None,
) -> ArcWarcRecord:
    """The revisit record: the HTTP headers only, and the record that holds the payload
    (``original``; None for a 304, a server-not-modified revisit). A revisit's block is
    never cut short, so it carries no ``WARC-Truncated``."""
    http_headers = _response_http_headers(exchange)
    header_bytes: bytes = http_headers.headers_buff
    warc_headers = _warc_headers(exchange, record_id, date, payload_digest)
    warc_headers["WARC-Block-Digest"] = sha256_digest(header_bytes)
    record = _builder().create_warc_record(
        exchange.url, "revisit", http_headers=http_headers, warc_headers_dict=warc_headers
    )
    if original is not None:
        record.rec_headers.add_header("WARC-Profile", REVISIT_IDENTICAL)
        record.rec_headers.add_header("WARC-Refers-To-Target-URI", original.uri)
        record.rec_headers.add_header("WARC-Refers-To-Date", original.date)
        record.rec_headers.add_header("WARC-Refers-To", original.record_id)
    else:
        record.rec_headers.add_header("WARC-Profile", REVISIT_NOT_MODIFIED)
    return record


def build_request(
    exchange: Exchange, *, record_id: str, date: str, concurrent_to: str
) -> ArcWarcRecord:
    """The request record, secrets redacted, linked to its response by WARC-Concurrent-To."""
    request_http = _request_http_headers(exchange)
    request_http.compute_headers_buffer()
    request_block: bytes = request_http.headers_buff + exchange.request_body
    return _builder().create_warc_record(
        exchange.url,
        "request",
        payload=BytesIO(exchange.request_body),
        length=len(exchange.request_body),
        http_headers=request_http,
        warc_headers_dict={
            "WARC-Record-ID": record_id,
            "WARC-Date": date,
            "WARC-Concurrent-To": concurrent_to,
            "WARC-Block-Digest": sha256_digest(request_block),
            "WARC-Payload-Digest": sha256_digest(exchange.request_body),
        },
    )


def build_exchange(
    exchange: Exchange,
    *,
    original: Original | None = None,
    make_id: Callable[[], str] = new_record_id,
    payload_digest: str | None = None,
) -> ExchangeRecords:
    """Response (or revisit) record then request record, as gzip members.

    ``original`` is the earlier capture of an identical payload: the response is
    then written as an identical-payload-digest revisit. A 304 answer is always a
    server-not-modified revisit.
    """
    date = warc_date(exchange.date)
    payload_digest = payload_digest or sha256_digest(exchange.body)
    response_id = make_id()
    revisit = exchange.status == 304 or original is not None
    if revisit:
        record = build_revisit(
            exchange,
            record_id=response_id,
            date=date,
            payload_digest=payload_digest,
            original=original,
        )
    else:
        record = build_response(
            exchange, record_id=response_id, date=date, payload_digest=payload_digest
        )
    request = build_request(exchange, record_id=make_id(), date=date, concurrent_to=response_id)
    level = GZIP_LEVEL if revisit or not precompressed(exchange) else STORED
    return ExchangeRecords(
        members=[gzip_member(serialize(record), level), gzip_member(serialize(request))],
        record_type="revisit" if revisit else "response",
        payload_digest=payload_digest,
        record_id=response_id,
        warc_date=date,
        refers_to=original,
        index=[record_index(record), None],
    )


def build_resource(
    uri: str,
    content_type: str,
    payload: bytes,
    *,
    record_id: str,
    date: str,
    concurrent_to: str | None = None,
) -> Member:
    """A resource record (what the crawler made, not what a server sent: a screenshot,
    a rendered DOM) as one gzip member; ``concurrent_to``: the record id of the response
    it was made from (WARC 1.1 allows ``WARC-Refers-To`` in revisit, conversion and
    metadata records only)."""
    warc_headers = {
        "WARC-Record-ID": record_id,
        "WARC-Date": date,
        "Content-Type": content_type,
        "WARC-Payload-Digest": sha256_digest(payload),
        "WARC-Block-Digest": sha256_digest(payload),
    }
    if concurrent_to is not None:
        warc_headers["WARC-Concurrent-To"] = concurrent_to
    record = _builder().create_warc_record(
        uri,
        "resource",
        payload=BytesIO(payload),
        length=len(payload),
        warc_content_type=content_type,
        warc_headers_dict=warc_headers,
    )
    level = STORED if content_type.startswith(_COMPRESSED_TYPES) else GZIP_LEVEL
    return Member(gzip_member(serialize(record), level), record_index(record))


def build_resource_revisit(
    uri: str,
    content_type: str,
    *,
    record_id: str,
    date: str,
    payload_digest: str,
    original: Original,
    concurrent_to: str | None = None,
) -> Member:
    """An identical-payload-digest revisit standing for a resource record (``original``,
    which holds the same payload), as one gzip member.

    Its block is empty: a resource has no HTTP headers to keep. So it has no
    ``Content-Type`` (which would describe the block); the payload's type, which the
    crawler knows since it made the payload, is its ``WARC-Identified-Payload-Type``.
    ``WARC-Refers-To`` names the original, so the record it was made from in this crawl
    (``concurrent_to``: the page's response) is linked by ``WARC-Concurrent-To``.
    """
    warc_headers = {
        "WARC-Record-ID": record_id,
        "WARC-Date": date,
        "WARC-Payload-Digest": payload_digest,
        "WARC-Block-Digest": sha256_digest(b""),
        "WARC-Identified-Payload-Type": content_type,
    }
    record = _builder().create_warc_record(uri, "revisit", warc_headers_dict=warc_headers)
    record.content_type = None  # warcio would name an HTTP message, which the block is not
    record.rec_headers.add_header("WARC-Profile", REVISIT_IDENTICAL)
    record.rec_headers.add_header("WARC-Refers-To-Target-URI", original.uri)
    record.rec_headers.add_header("WARC-Refers-To-Date", original.date)
    record.rec_headers.add_header("WARC-Refers-To", original.record_id)
    if concurrent_to is not None:
        record.rec_headers.add_header("WARC-Concurrent-To", concurrent_to)
    return Member(gzip_member(serialize(record)), record_index(record))


def build_warcinfo(
    filename: str, fields: dict[str, str], *, date: datetime, make_id: Callable[[], str]
) -> bytes:
    """The warcinfo record that opens every file, as one gzip member."""
    body = "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v).encode("utf-8")
    record = _builder().create_warc_record(
        "",
        "warcinfo",
        payload=BytesIO(body),
        length=len(body),
        warc_headers_dict={
            "WARC-Record-ID": make_id(),
            "WARC-Date": warc_date(date),
            "WARC-Filename": filename,
            "WARC-Block-Digest": sha256_digest(body),
        },
    )
    return gzip_member(serialize(record))
