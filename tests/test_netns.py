"""Tests of the namespace the suite runs in (tests/netns.py): loopback only, and fast failure.

Marked ``netns``: outside the namespace (plain ``.venv/bin/pytest``) they fail with a
line saying how to run them (tests/conftest.py).
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.netns import interfaces, network_isolated

pytestmark = pytest.mark.netns
RUNNER = Path(__file__).with_name("netns.py")


def test_only_loopback_is_there() -> None:
    assert interfaces() == ["lo"]
    assert network_isolated()


def test_loopback_is_up() -> None:
    with socket.create_server(("127.0.0.2", 0)) as server:
        accepted = threading.Thread(target=lambda: server.accept()[0].close())
        accepted.start()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
        accepted.join(2)


@pytest.mark.parametrize(
    ("family", "address"),
    [(socket.AF_INET, ("192.0.2.1", 80)), (socket.AF_INET6, ("2001:db8::1", 80))],
    ids=["ipv4", "ipv6"],
)
def test_other_addresses_are_unreachable_at_once(family: int, address: tuple[str, int]) -> None:
    start = time.monotonic()
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(OSError) as raised:
        sock.settimeout(5)
        sock.connect(address)
    assert raised.value.errno in {errno.ENETUNREACH, errno.EADDRNOTAVAIL}
    assert time.monotonic() - start < 0.5


def test_a_name_lookup_fails_fast() -> None:
    start = time.monotonic()
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("scrubwatch-netns-probe.example.com", 80)
    assert time.monotonic() - start < 2


def test_the_runner_runs_pytest_in_a_namespace_of_its_own(tmp_path: Path) -> None:
    """A runner started from inside this one makes a new namespace, loopback up in it too."""
    inner = tmp_path / "test_inner.py"
    inner.write_text(
        textwrap.dedent(
            """
            import os, socket
            from pathlib import Path

            def test_inner():
                assert Path("/proc/self/net/dev").read_text().count(":") == 1
                with socket.create_server(("127.0.0.1", 0)) as server:
                    socket.create_connection(server.getsockname(), timeout=2).close()
                Path(__file__).with_name("ns").write_text(os.readlink("/proc/self/ns/net"))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(RUNNER), "-q", "-p", "no:cacheprovider", str(inner)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "ns").read_text() != os.readlink("/proc/self/ns/net")
