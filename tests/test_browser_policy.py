"""Tests of crawler.browser.policy: which pages the browser renders, on real and shell pages."""

from __future__ import annotations

import time

import pytest

from crawler.browser.policy import (
    APP_SHELL_TEXT,
    SHORT_TEXT,
    browser_mode,
    is_html_type,
    looks_script_built,
    wants_browser,
)
from storage.errors import BadInput
from tests.fixtures.sample import SAMPLE, sample_page

SAMPLE_STEMS = sorted(p.name.removesuffix(".html.gz") for p in (SAMPLE / "html").iterdir())
ARTICLE = "<p>" + "A paragraph of an article that the server wrote into the page. " * 40 + "</p>"

# create-react-app's index.html, as served before the bundle runs.
REACT_SHELL = b"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>React App</title><script defer="defer" src="/static/js/main.8f2c1a.js"></script>
<link href="/static/css/main.css" rel="stylesheet"></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript>
<div id="root"></div></body></html>"""

# A Next.js page rendered on the client: the data in __NEXT_DATA__, nothing in the root.
NEXT_SHELL = b"""<!DOCTYPE html><html><head><meta name="next-head-count" content="2">
<script src="/_next/static/chunks/webpack.js" defer=""></script>
<script src="/_next/static/chunks/pages/_app.js" defer=""></script></head>
<body><div id="__next"></div>
<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"post":
{"text":"%s"}}},"page":"/post/[id]","query":{"id":"1"},"buildId":"b1"}</script>
</body></html>""" % (b"The post's text, which only script puts on the page. " * 20)

# An image search like Baidu's: the header and search box are in the HTML, the results
# (and the photos in them) arrive by XHR and are inserted by script.
BAIDU_SHELL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>董经纬_百度图片搜索</title>
<link rel="stylesheet" href="https://img.baidu.com/search/static/common.css"></head>
<body><div id="head"><a href="https://www.baidu.com/">百度首页</a> <a href="/">图片</a>
<a href="https://news.baidu.com/">新闻</a> <a href="https://tieba.baidu.com/">贴吧</a>
<a href="https://zhidao.baidu.com/">知道</a> <a href="https://map.baidu.com/">地图</a>
<form action="/search/index"><input name="word" value="董经纬"><button>百度一下</button></form>
</div><div id="imgContainer"><div id="imgid" class="imgpage"></div></div>
<div id="pageFooter"><a href="/help">帮助</a> <a href="/feedback">举报</a></div>
<script>window.__pageConf = {word: "董经纬", pn: 0, rn: 30};</script>
<script src="https://img.baidu.com/search/static/searchresult.js"></script>
<script>fetch("/search/acjson?tn=resultjson_com&word=" + encodeURIComponent(__pageConf.word))
  .then(r => r.json()).then(data => render(data));</script>
</body></html>""".encode()

# X's logged-out page: a long noscript notice, the app mounted into #react-root.
X_SHELL = b"""<!DOCTYPE html><html dir="ltr" lang="en"><head>
<script nonce="x">window.__INITIAL_STATE__ = {"featureSwitch": {"config": {}}};</script>
<script type="text/javascript" charset="utf-8" nonce="x" crossorigin="anonymous"
 src="https://abs.twimg.com/responsive-web/client-web/main.js"></script></head>
<body><noscript><form action="https://x.com/?mx=2" method="POST">
<p>We've detected that JavaScript is disabled in this browser. Please enable JavaScript
or switch to a supported browser to continue using x.com. You can see a list of supported
browsers in our Help Center.</p><button type="submit">Try again</button></form></noscript>
<div id="react-root" style="height:100%;display:flex;"><div class="css-175oi2r">
<div id="placeholder"><svg viewBox="0 0 24 24"><g><path d="M18.244 2.25h3.308"></path></g></svg>
</div></div></div></body></html>"""

# A single-page app with a long header and footer in its HTML, and a loading notice.
APP_WITH_CHROME = (
    "<html><body><nav>" + "<a href='/s'>Section</a> " * 30 + "</nav>"
    '<div id="app">Loading...</div>'
    "<footer>" + "<a href='/l'>Legal notice</a> " * 10 + "</footer>"
    '<script type="module" src="/assets/index.js"></script></body></html>'
).encode()


@pytest.mark.parametrize(
    "html",
    [REACT_SHELL, NEXT_SHELL, BAIDU_SHELL, X_SHELL, APP_WITH_CHROME],
    ids=["react", "next", "baidu-images", "x", "app-with-chrome"],
)
def test_shell_pages_look_script_built(html: bytes) -> None:
    assert looks_script_built(html)


def test_no_page_of_the_extraction_sample_looks_script_built() -> None:
    """61 real news pages, React, Next, Nuxt and Angular ones rendered on the server among them."""
    assert len(SAMPLE_STEMS) == 61
    assert [stem for stem in SAMPLE_STEMS if looks_script_built(sample_page(stem))] == []


def test_the_rule_is_fast_on_real_pages() -> None:
    pages = [sample_page(stem) for stem in SAMPLE_STEMS]
    start = time.perf_counter()
    for page in pages:
        looks_script_built(page)
    assert time.perf_counter() - start < 2.0  # about 1 ms a page; bounded for a busy machine


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(b"<html><body><h1>404</h1><p>Not found</p></body></html>", id="no-script"),
        pytest.param(
            b'<p>Short.</p><script type="application/ld+json">{"@type": "NewsArticle"}</script>'
            b'<script type="text/x-template"><div>{{ x }}</div></script><script></script>',
            id="data-blocks-and-an-empty-script",
        ),
        pytest.param(
            f"<div id='root'><article>{ARTICLE}</article></div><script src='/app.js'></script>",
            id="root-rendered-on-the-server",
        ),
        pytest.param(
            f"<article>{ARTICLE * 3}</article><div id='app'></div><script src='/w.js'></script>",
            id="article-beside-an-empty-widget-root",
        ),
        pytest.param(b"", id="empty"),
    ],
)
def test_pages_that_do_not_look_script_built(html: str | bytes) -> None:
    assert not looks_script_built(html.encode() if isinstance(html, str) else html)


def test_the_thresholds_are_where_the_documentation_says() -> None:
    script = "<script src='/a.js'></script>"
    assert looks_script_built(("<p>" + "x" * (SHORT_TEXT - 1) + "</p>" + script).encode())
    assert not looks_script_built(("<p>" + "x" * SHORT_TEXT + "</p>" + script).encode())
    shell = "<div id='root'>Loading...</div><p>{}</p>" + script
    assert looks_script_built(shell.format("x" * (APP_SHELL_TEXT - 20)).encode())
    assert not looks_script_built(shell.format("x" * APP_SHELL_TEXT).encode())
    assert not looks_script_built(
        ("<div id='root'>" + "y" * 20 + "</div><p>" + "x" * 300 + "</p>" + script).encode()
    )


def test_hidden_text_does_not_count() -> None:
    hidden = "<style>{0}</style><noscript>{0}</noscript><template>{0}</template>".format("z" * 500)
    assert looks_script_built(f"<body>{hidden}<script>{'q' * 500}</script></body>".encode())


@pytest.mark.parametrize(
    ("mode", "flag", "html", "content_type", "expected"),
    [
        ("never", True, REACT_SHELL, "text/html", False),
        ("always", False, None, None, True),
        ("always", False, ARTICLE.encode(), "text/html; charset=utf-8", True),
        ("always", True, b"%PDF-1.7", "application/pdf", False),
        ("auto", True, None, None, True),
        ("auto", True, b"\xff\xd8\xff", b"image/jpeg", False),
        ("auto", False, None, None, False),
        ("auto", False, REACT_SHELL, b"text/html", True),
        ("auto", False, REACT_SHELL, None, True),
        ("auto", False, ARTICLE.encode(), "application/xhtml+xml", False),
    ],
)
def test_wants_browser(
    mode: str, flag: bool, html: bytes | None, content_type: str | bytes | None, expected: bool
) -> None:
    assert wants_browser(browser_mode(mode), flag, html, content_type) is expected


@pytest.mark.parametrize(
    ("value", "html"),
    [
        ("text/html", True),
        (" Text/HTML ; charset=gbk", True),
        (b"application/xhtml+xml", True),
        ("application/json", False),
        ("text/plain", False),
        ("", False),
    ],
)
def test_is_html_type(value: str | bytes, html: bool) -> None:
    assert is_html_type(value) is html


def test_browser_mode() -> None:
    assert [browser_mode(v) for v in ("auto", " Always", "NEVER")] == ["auto", "always", "never"]
    for bad in ("sometimes", "", None, True):
        with pytest.raises(BadInput, match=r"^setting BROWSER_MODE: .* is not one of auto, "):
            browser_mode(bad)
    with pytest.raises(BadInput, match=r"^--browser: 'x' is not one of auto, always, never$"):
        browser_mode("x", name="--browser")


def test_a_tree_parsed_already_gets_the_same_answer_without_a_second_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The crawl parses a page once, for its requisites and for the rule."""
    from selectolax.lexbor import LexborHTMLParser

    import crawler.browser.policy as policy

    pages = [REACT_SHELL, sample_page(SAMPLE_STEMS[0]), ARTICLE.encode()]
    trees = [LexborHTMLParser(page.decode("utf-8")) for page in pages]
    parsed: list[bytes] = []

    class Counting(LexborHTMLParser):
        def __init__(self, html: bytes) -> None:
            parsed.append(html)
            super().__init__(html)

    monkeypatch.setattr(policy, "LexborHTMLParser", Counting)
    assert [looks_script_built(tree) for tree in trees] == [True, False, False]
    assert wants_browser("auto", False, LexborHTMLParser(REACT_SHELL.decode()), "text/html")
    assert parsed == []
    assert [looks_script_built(page) for page in pages] == [True, False, False]
    assert len(parsed) == 3
