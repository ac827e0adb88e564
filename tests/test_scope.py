"""crawler/scope.py: the registered domain of a URL or host, offline, and same-site links."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.scope import registered_domain, same_site

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("url_or_host", "domain"),
    [
        ("https://news.ltn.com.tw:443/a?b#c", "ltn.com.tw"),
        ("https://www.smh.com.au/x", "smh.com.au"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("WWW.BBC.CO.UK.", "bbc.co.uk"),
        ("http://127.0.0.2:8080/", "127.0.0.2"),
        ("http://[::1]/", "::1"),
        ("http://[0:0::1]/", "::1"),
        ("http://0x7f.1/", "127.0.0.1"),  # as a resolver reads it
        ("127.0.0.2", "127.0.0.2"),
        ("http://localhost:8000/", "localhost"),
        ("http://[::1/", ""),  # a malformed IPv6 literal
        ("file:///tmp/a.html", ""),
    ],
)
def test_registered_domain(url_or_host: str, domain: str) -> None:
    assert registered_domain(url_or_host) == domain


def test_same_site() -> None:
    assert same_site("https://www.abc.net.au/news/1", "https://abc.net.au/2")
    assert not same_site("https://abc.net.au/", "https://abc.com.au/")
    assert same_site("http://127.0.0.1/a", "http://0x7f.0.0.1/b")
    assert not same_site("file:///a", "file:///b")  # no domain is no site


def test_public_suffix_list_never_fetched(tmp_path: Path) -> None:
    """With sockets disabled and an empty cache directory, domains still resolve."""
    code = (
        "import socket\n"
        "attempts = []\n"
        "def refuse(*args, **kwargs):\n"
        "    attempts.append(args)\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from crawler.scope import registered_domain\n"
        "assert registered_domain('https://www.dailytelegraph.com.au/x') == 'dailytelegraph.com.au'\n"
        "assert registered_domain('https://a.b.example.co.uk/') == 'example.co.uk'\n"
        "assert not attempts, attempts\n"
    )
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": ""}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    assert list(tmp_path.iterdir()) == []  # nothing cached on disk either
