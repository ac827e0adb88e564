"""A loopback web replaying the outlets that the Dong Jingwei story cites.

One ``ThreadingHTTPServer`` per outlet, each on its own loopback address (127.0.0.2,
127.0.0.3, ...) and all on the same port; ``LocalWeb`` starts and stops them together and
switches the site between its two versions while it runs. Responses speak HTTP/1.1 with
keep-alive: each carries Content-Length, except the one sent with chunked encoding; the
video answers ``Range`` requests with 206 (or 416), as video hosts do.
Tests, the demo and the benchmarks use it. What it serves is declared in ``content`` and
rendered by ``responses``; ``truth`` describes it for tests.
"""

from __future__ import annotations

import copy
import logging
import threading
from datetime import UTC
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from types import TracebackType
from typing import Any

from crawler.localweb import content, registry, truth
from crawler.localweb.responses import Response, Site, ranged

logger = logging.getLogger(__name__)

_CHUNK_SIZE = 1024
_KEPT_ON_304 = {"ETag", "Last-Modified", "Cache-Control", "Vary"}
_PORT_ATTEMPTS = 20
_POLL_INTERVAL = 0.1  # seconds; how long stop() may wait for a serve loop


class _OutletServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: str, port: int, web: LocalWeb, outlet: str) -> None:
        self.web = web
        self.outlet = outlet
        super().__init__((address, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response is routine for a crawler under test.
        logger.debug("localweb: error serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle keep-alive connection stays open
    server: _OutletServer

    def version_string(self) -> str:
        return "scrubwatch-localweb"

    def do_GET(self) -> None:
        self._reply(send_body=True)

    def do_HEAD(self) -> None:
        self._reply(send_body=False)

    def _reply(self, send_body: bool) -> None:
        response = self.server.web._lookup(self.server.outlet, self.path)
        if self._not_modified(response):
            self.send_response(304)
            for name, value in response.headers:
                if name in _KEPT_ON_304:
                    self.send_header(name, value)
            self.end_headers()
            return
        response = ranged(response, self.headers.get("Range"), self.headers.get("If-Range"))
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        if not response.chunked:
            self.wfile.write(response.body)
            return
        for start in range(0, len(response.body), _CHUNK_SIZE):
            chunk = response.body[start : start + _CHUNK_SIZE]
            self.wfile.write(b"%X\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _not_modified(self, response: Response) -> bool:
        if response.status != 200 or response.etag is None:
            return False
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return "*" in tags or response.etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is None or response.modified is None:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return response.modified <= (since if since.tzinfo else since.replace(tzinfo=UTC))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        address = self.server.server_address[0]
        status = int(code) if isinstance(code, int) else 0
        self.server.web._record(str(address), self.command or "", getattr(self, "path", ""), status)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("localweb %s: " + format, self.server.outlet, *args)


class LocalWeb:
    """The local cited web: ``with LocalWeb() as web: crawl(web.seed_url)``.

    ``request_log`` lists ``(address, method, path, status)`` for every response sent.
    """

    def __init__(self, port: int = 0, version: int = 1, first_address: str = "127.0.0.2") -> None:
        _check_version(version)
        self.port = port
        self.version = version
        first = IPv4Address(first_address)
        self.addresses = {o.key: str(first + i) for i, o in enumerate(content.OUTLETS)}
        self.request_log: list[tuple[str, str, str, int]] = []
        self._log_lock = threading.Lock()
        self._servers: list[_OutletServer] = []
        self._threads: list[threading.Thread] = []
        self._site: Site | None = None
        self._truth: dict[str, Any] = {}

    def start(self) -> LocalWeb:
        if self._servers:
            raise RuntimeError("LocalWeb is already running")
        self._servers = self._bind()
        self._site = Site(self.outlets)
        self._truth = truth.build(self._site)
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                args=(_POLL_INTERVAL,),
                name=f"localweb-{server.outlet}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        logger.info(
            "localweb: %d outlets on port %d, seed %s", len(self._servers), self.port, self.seed_url
        )
        return self

    def _bind(self) -> list[_OutletServer]:
        """Bind every outlet on one port; with port 0, retry if a later address finds it taken."""
        attempt = 1
        while True:
            servers: list[_OutletServer] = []
            try:
                for outlet, address in self.addresses.items():
                    port = servers[0].server_address[1] if servers else self.port
                    servers.append(_OutletServer(address, int(port), self, outlet))
            except OSError:
                for server in servers:
                    server.server_close()
                if self.port or attempt == _PORT_ATTEMPTS:
                    raise
                attempt += 1
                continue
            self.port = int(servers[0].server_address[1])
            return servers

    def stop(self) -> None:
        # shutdown() waits for its serve loop's next poll: stop all outlets at once.
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers]
        for thread in stoppers:
            thread.start()
        for thread in stoppers + self._threads:
            thread.join()
        for server in self._servers:
            server.server_close()
        self._servers, self._threads = [], []

    def __enter__(self) -> LocalWeb:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def set_version(self, v: int) -> None:
        _check_version(v)
        self.version = v

    @property
    def outlets(self) -> dict[str, str]:
        """Outlet key -> base URL, e.g. ``{"telegraph": "http://127.0.0.3:8431"}``."""
        if self.port == 0:
            raise RuntimeError("LocalWeb has no port yet: call start() first")
        return {key: f"http://{address}:{self.port}" for key, address in self.addresses.items()}

    @property
    def seed_url(self) -> str:
        return self.url("blog", content.SEED)

    def url(self, outlet: str, path: str = "/") -> str:
        return self.outlets[outlet] + path

    def registry_toml(self) -> str:
        """An outlet registry (TOML) for this instance, in the schema of seeds/outlets.toml."""
        return registry.registry_toml(self.outlets, self.port)

    def write_registry(self, path: Path) -> Path:
        path.write_text(self.registry_toml(), encoding="utf-8")
        return path

    def expected(self) -> dict[str, Any]:
        """What the running site holds, for tests; ``crawler.localweb.truth`` gives its shape."""
        if self._site is None:
            raise RuntimeError("LocalWeb is not started: call start() first")
        return {"version": self.version, **copy.deepcopy(self._truth)}

    def _lookup(self, outlet: str, target: str) -> Response:
        assert self._site is not None
        return self._site.lookup(self.version, outlet, target)

    def _record(self, address: str, method: str, path: str, status: int) -> None:
        with self._log_lock:
            self.request_log.append((address, method, path, status))


def _check_version(version: int) -> None:
    if version not in (1, 2):
        raise ValueError(f"LocalWeb version must be 1 or 2, not {version!r}")
