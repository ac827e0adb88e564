"""A local stand-in for a public web archive: pywb serving WARC files on loopback.

``LocalArchive(warcs, pywb_venv)`` makes a pywb collection (``coll``) of the WARC files
given, with ``enable_memento: true``, and runs pywb's ``wayback`` on 127.0.0.1: its CDX
server at ``/coll/cdx``, TimeMaps at ``/coll/timemap/link/<url>``, raw captures at
``/coll/<timestamp>id_/<url>``, as an OpenWayback- or pywb-based public archive answers.
pywb lives in a venv of its own (``make pywb``: ``.venv-pywb``, it pins redis 2.10).
Tests and ``scrubwatch demo --import`` use it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

COLLECTION = "coll"
_CONFIG = "enable_memento: true\nframed_replay: false\n"
_START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalArchive:
    """pywb on loopback, serving ``warcs`` (WARC files) as collection ``coll``."""

    def __init__(self, warcs: list[Path], pywb_venv: Path, root: Path) -> None:
        self.warcs = warcs
        self.bin = pywb_venv.resolve() / "bin"
        self.root = root
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/{COLLECTION}/"

    @property
    def cdx_url(self) -> str:
        return self.base + "cdx"

    @property
    def timemap_url(self) -> str:
        return self.base + "timemap/link/"

    def start(self) -> LocalArchive:
        if not (self.bin / "wayback").exists():
            raise FileNotFoundError(f"{self.bin / 'wayback'} missing: run `make pywb`")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "config.yaml").write_text(_CONFIG)
        if not (self.root / "collections" / COLLECTION).exists():
            self._manager("init", COLLECTION)
        if self.warcs:
            self._manager("add", COLLECTION, *map(str, self.warcs))
        self.port = free_port()
        self._process = subprocess.Popen(
            [str(self.bin / "wayback"), "-b", "127.0.0.1", "-p", str(self.port), "-t", "2"],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait()
        return self

    def _manager(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / "wb-manager"), *args],
            cwd=self.root,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def _wait(self) -> None:
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"pywb exited with status {self._process.returncode}")
            try:
                with urllib.request.urlopen(self.cdx_url + "?url=example.com", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"pywb did not answer on port {self.port}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalArchive:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
