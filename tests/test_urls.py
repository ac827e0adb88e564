"""pipelines/urls.py: the one way the crawl, the seeds and the dataset make links absolute."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from w3lib.url import safe_url_string

from pipelines.urls import _ALREADY_SAFE, absolute_url, absolute_urls, base_url

PAGE = "http://news.example/a/b.html"


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("c.jpg", "http://news.example/a/c.jpg"),
        ("  c d.jpg\n", "http://news.example/a/c%20d.jpg"),  # stripped, then quoted
        ("a\tb\nc", "http://news.example/a/abc"),  # tabs and newlines inside go
        ("/x?q=1#part", "http://news.example/x?q=1"),  # no fragment
        ("//cdn.example/i.png", "http://cdn.example/i.png"),
        ("HTTPS://NEWS.Example:443/x", "https://news.example:443/x"),
        ("http://a.example?x=1", "http://a.example/?x=1"),
        ("/?q='a'", "http://news.example/?q=%27a%27"),
        ("/[x]", "http://news.example/%5Bx%5D"),
        ("http://bücher.example/é", "http://xn--bcher-kva.example/%C3%A9"),
        ("#top", None),  # the page itself
        ("", None),
        ("  ", None),
        ("mailto:x@news.example", None),
        ("javascript:void(0)", None),
        ("data:image/gif;base64,R0lGOD", None),
        ("ftp://files.example/a", None),
        ("http://[::1", None),  # a malformed IPv6 literal
        ("http://a.example:99999/", None),  # a port out of range
        ("http://user@/x", None),  # no host
    ],
)
def test_absolute_url(href: str, url: str | None) -> None:
    assert absolute_url(PAGE, href) == url


def test_a_url_without_a_host_is_none() -> None:
    assert absolute_url("", "http:///x") is None
    assert absolute_url("", "https://news.example/x") == "https://news.example/x"


def test_the_query_is_in_the_pages_encoding_the_path_in_utf8() -> None:
    assert absolute_url(PAGE, "/é?q=é", "cp1252") == "http://news.example/%C3%A9?q=%E9"
    assert absolute_url(PAGE, "/é?q=é") == "http://news.example/%C3%A9?q=%C3%A9"
    # a page in UTF-16 writes its URLs' queries in UTF-8, as browsers do
    assert absolute_url(PAGE, "/s?q=é", "utf-16-le") == "http://news.example/s?q=%C3%A9"


def test_absolute_urls_keeps_each_url_once_in_order() -> None:
    hrefs = ["b.jpg", "/a/b.jpg", "#x", "c.jpg", "b.jpg#y", "mailto:x@y"]
    assert absolute_urls(PAGE, hrefs) == [
        "http://news.example/a/b.jpg",
        "http://news.example/a/c.jpg",
    ]


@pytest.mark.parametrize(
    ("base_href", "base"),
    [
        (None, PAGE),
        ("", PAGE),  # an empty href leaves the page's own URL
        ("  ", PAGE),
        (" /root/ ", "http://news.example/root/"),
        ("https://mirror.example/x/", "https://mirror.example/x/"),
    ],
)
def test_base_url(base_href: str | None, base: str) -> None:
    assert base_url(PAGE, base_href) == base


_SAFE_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/%?"
_OTHER_CHARS = '[]{}\\^`|"<> é'
_HOST = st.text("abcxyz019.-", max_size=8) | st.text("abcXYZ019.-_é", max_size=8)
_REST = st.text(_SAFE_CHARS, max_size=16) | st.text(_SAFE_CHARS + _OTHER_CHARS, max_size=16)


@settings(max_examples=1000, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https"]),
    host=_HOST,
    port=st.sampled_from(["", ":", ":0", ":1", ":08", ":80", ":8080", ":65535", ":99999"]),
    rest=_REST.map(lambda r: "/" + r),
)
def test_what_is_taken_as_already_safe_is(scheme: str, host: str, port: str, rest: str) -> None:
    """The shortcut past safe_url_string is only taken where it would change nothing."""
    url = f"{scheme}://{host}{port}{rest}"
    if _ALREADY_SAFE.fullmatch(url):
        assert safe_url_string(url) == url
        assert absolute_url("", url) == url
