"""Fetches one seed article for ``scrubwatch seeds URL``, under the SSRF policy.

Crawls fetch through Scrapy; listing a URL seed's citations needs one page, so a
plain HTTP GET with a size and time limit does. The host's addresses are checked
before connecting, and redirects are not followed to another host unchecked.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from crawler import __version__
from crawler.addresses import blocked_reason, parse_ip_literal
from crawler.outlets import SeedError

MAX_BYTES = 16 * 1024 * 1024
TIMEOUT = 30


def check_host(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not host:
        raise SeedError(f"seed {url}: no host in URL")
    literal = parse_ip_literal(host)
    try:
        addresses = (
            [literal]
            if literal
            else [
                parse_ip_literal(str(info[4][0]))
                for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
            ]
        )
    except socket.gaierror as exc:
        raise SeedError(f"seed {url}: cannot resolve {host}: {exc.strerror}") from exc
    for address in addresses:
        reason = blocked_reason(address) if address else "unparseable address"
        if reason:
            raise SeedError(f"seed {url}: blocked, {host} is a {reason} (use --allow-private)")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not self.allow_private:
            check_host(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_seed(url: str, *, allow_private: bool = False) -> bytes:
    if urlsplit(url).scheme not in ("http", "https"):
        raise SeedError(f"seed {url}: unsupported URL scheme (use http or https)")
    if not allow_private:
        check_host(url)
    opener = urllib.request.build_opener(_CheckedRedirects(allow_private))
    request = urllib.request.Request(url, headers={"User-Agent": f"scrubwatch/{__version__}"})
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            body: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise SeedError(f"seed {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SeedError(f"seed {url}: cannot fetch: {reason}") from exc
    if len(body) > MAX_BYTES:
        raise SeedError(f"seed {url}: larger than {MAX_BYTES} bytes")
    return body
