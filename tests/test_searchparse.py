"""Result pages read by an engine's rules, by the generic fallback, or flagged."""

from __future__ import annotations

import pytest

from pipelines.searchparse import (
    SearchRules,
    check_selector,
    parse_count,
    parse_search_page,
    split_selector,
)

HTML = "text/html; charset=utf-8"
FILTERED_NOTICE = "根据相关法律法规和政策，部分搜索结果未予显示。"

BAIDU_RULES = SearchRules(
    results=("#content_left > div.result",),
    link=("h3 a@href",),
    title=("h3",),
    snippet=(".c-abstract",),
    target=("@mu",),
    count=(".nums_text",),
    area=("#content_left",),
)
DDG_RULES = SearchRules(
    results=("div.result:not(.result--ad)",),
    link=("a.result__a@href",),
    snippet=(".result__snippet",),
    thumbnail=("img.result__icon__img@src",),
    target_param="uddg",
)


def baidu_page(results: list[tuple[str, str, str]], notice: str = "") -> bytes:
    items = "".join(
        f'<div class="result c-container" mu="{target}"><h3><a href="/link?url=x{i}">{title}'
        f'</a></h3><div class="c-abstract">{snippet}</div></div>'
        for i, (target, title, snippet) in enumerate(results)
    )
    return (
        '<html><head><title>董经纬_百度搜索</title></head><body><div id="head">'
        '<a href="/">百度首页</a></div><span class="nums_text">百度为您找到相关结果约1,230个'
        f'</span><div id="content_left">{items}</div><p class="hint">{notice}</p>'
        "<script>var x = 'captcha';</script></body></html>"
    ).encode()


def test_rules_read_results_in_order_with_their_targets() -> None:
    body = baidu_page(
        [
            ("https://news.example/a", "Dong Jingwei 董经纬", "Vice minister..."),
            ("https://other.example/b", "国家安全部", "..."),
        ],
        FILTERED_NOTICE,
    )
    parsed = parse_search_page(
        body, url="https://www.baidu.com/s?wd=x", content_type=HTML, status=200, rules=BAIDU_RULES
    )
    assert parsed.outcome == "results" and parsed.parser == "rules"
    assert [r.url for r in parsed.results] == [
        "https://www.baidu.com/link?url=x0",
        "https://www.baidu.com/link?url=x1",
    ]
    assert [r.target for r in parsed.results] == [
        "https://news.example/a",
        "https://other.example/b",
    ]
    assert parsed.results[0].title == "Dong Jingwei 董经纬"
    assert parsed.results[0].snippet == "Vice minister..."
    assert (parsed.count, parsed.count_text) == (1230, "百度为您找到相关结果约1,230个")
    assert parsed.notices == ["filtered"]
    assert parsed.notice_texts == ["根据相关法律法规和政策，部分搜索结果未予显示"]


def test_a_notice_quoted_in_a_result_is_no_notice() -> None:
    body = baidu_page([("https://news.example/a", "censorship", FILTERED_NOTICE)])
    parsed = parse_search_page(
        body, url="https://www.baidu.com/s?wd=x", content_type=HTML, status=200, rules=BAIDU_RULES
    )
    assert parsed.outcome == "results" and parsed.notices == []
    assert parsed.results[0].snippet == FILTERED_NOTICE


def test_redirect_links_are_unwrapped_by_their_parameter() -> None:
    body = (
        b"<html><body><div class='result'><a class='result__a' href='//duckduckgo.com/l/?uddg="
        b"https%3A%2F%2Fnews.example%2Fdong%3Fid%3D1&rut=abc'>Dong</a><a class='result__snippet'>"
        b"The <b>vice</b> minister</a><img class='result__icon__img' src='//external-content."
        b"duckduckgo.com/ip3/news.example.ico'></div><div class='result result--ad'><a class="
        b"'result__a' href='https://ads.example/'>Ad</a></div></body></html>"
    )
    parsed = parse_search_page(
        body,
        url="https://html.duckduckgo.com/html/?q=x",
        content_type=HTML,
        status=200,
        rules=DDG_RULES,
    )
    [result] = parsed.results
    assert result.url.startswith("https://duckduckgo.com/l/?uddg=")
    assert result.target == "https://news.example/dong?id=1"
    assert (result.title, result.snippet) == ("Dong", "The vice minister")
    assert result.thumbnail == "https://external-content.duckduckgo.com/ip3/news.example.ico"


def test_image_results_without_links_are_their_pictures() -> None:
    body = (
        '<html><body><p id="resultInfo">找到相关图片约8张</p><ul class="imglist">'
        '<li class="imgitem"><img src="/it/u/1.png" alt="a"><p>董经纬 国家安全部副部长</p></li>'
        '<li class="imgitem"><img src="data:image/gif;base64,R0lGOD" data-src="/it/u/2.png">'
        "<p>second</p></li></ul></body></html>"
    ).encode()
    rules = SearchRules(
        results=("li.imgitem",),
        title=("p", "img@alt"),
        thumbnail=("img@src", "img@data-src"),
        count=("#resultInfo",),
    )
    parsed = parse_search_page(
        body, url="http://127.0.0.5/search/index?word=x", content_type=HTML, status=200, rules=rules
    )
    assert [r.url for r in parsed.results] == [
        "http://127.0.0.5/it/u/1.png",
        "http://127.0.0.5/it/u/2.png",
    ]
    assert [r.title for r in parsed.results] == ["董经纬 国家安全部副部长", "second"]
    assert parsed.count == 8


def test_generic_fallback_takes_links_off_the_engine() -> None:
    body = (
        b"<html><body><nav><a href='https://elsewhere.example/nav'>nav</a></nav><main>"
        b"<a href='/settings'>Settings</a><a href='https://news.example/a'>First</a>"
        b"<a href='https://www.engine.example/r?url=https%3A%2F%2Fnews.example%2Fb'>Second</a>"
        b"<a href='https://news.example/a'>First again</a></main></body></html>"
    )
    rules = SearchRules(results=("div.gone",))
    parsed = parse_search_page(
        body, url="https://search.engine.example/?q=x", content_type=HTML, status=200, rules=rules
    )
    assert parsed.outcome == "results" and parsed.parser == "generic"
    assert [(r.url, r.target, r.title) for r in parsed.results] == [
        ("https://news.example/a", None, "First"),
        (
            "https://www.engine.example/r?url=https%3A%2F%2Fnews.example%2Fb",
            "https://news.example/b",
            "Second",
        ),
    ]


def test_a_page_nothing_reads_is_unparsed_not_empty() -> None:
    body = b"<html><body><div id=app></div><a href='/'>home</a><script>x()</script></body></html>"
    parsed = parse_search_page(
        body, url="https://e.example/?q=x", content_type=HTML, status=200, rules=BAIDU_RULES
    )
    assert parsed.outcome == "unparsed" and parsed.results == [] and parsed.parser is None
    assert parsed.reason


@pytest.mark.parametrize(
    ("body", "status", "outcome", "notices"),
    [
        (
            b"<html><head><title>\xe7\x99\xbe\xe5\xba\xa6\xe5\xae\x89\xe5\x85\xa8\xe9\xaa\x8c"
            b"\xe8\xaf\x81</title></head><body><a href='https://help.example/'>help</a>"
            b"</body></html>",
            200,
            "captcha",
            ["captcha"],
        ),
        (
            b"<html><body><p>Our systems have detected unusual traffic from your computer "
            b"network.</p></body></html>",
            429,
            "captcha",
            ["captcha"],
        ),
        (
            "<html><body><p>抱歉没有找到与“董经纬”相关的结果。</p>"
            "<a href='https://help.example/'>help</a></body></html>".encode(),
            200,
            "no-results",
            ["no-results"],
        ),
        (
            "<html><body><p>根据相关法律法规和政策，“董经纬”搜索结果未予显示。</p></body></html>".encode(),
            200,
            "no-results",
            ["filtered"],
        ),
        (b"<html><body><p>Service unavailable</p></body></html>", 503, "error", []),
    ],
)
def test_pages_without_results_say_why(
    body: bytes, status: int, outcome: str, notices: list[str]
) -> None:
    parsed = parse_search_page(
        body, url="https://e.example/?q=x", content_type=HTML, status=status, rules=BAIDU_RULES
    )
    assert (parsed.outcome, parsed.notices, parsed.results) == (outcome, notices, [])


def test_an_engines_login_wall() -> None:
    rules = SearchRules(results=("article",), login=(r"Sign in to X",))
    body = (
        b"<html><body><h1>Sign in to X</h1><a href='https://help.x.example/'>Help</a></body></html>"
    )
    parsed = parse_search_page(
        body, url="https://x.com/search?q=x", content_type=HTML, status=200, rules=rules
    )
    assert (parsed.outcome, parsed.notices) == ("login", ["login"])


def test_gbk_pages_are_decoded_by_their_charset() -> None:
    body = "<html><head><meta charset=gbk></head><body><span class=nums_text>约1.2万个</span>"
    body += "<div id=content_left><div class=result mu='https://n.example/'><h3><a href='/l'>"
    body += "董经纬</a></h3></div></div></body></html>"
    parsed = parse_search_page(
        body.encode("gbk"),
        url="https://www.baidu.com/s?wd=x",
        content_type="text/html",
        status=200,
        rules=BAIDU_RULES,
    )
    assert parsed.results[0].title == "董经纬" and parsed.count == 12000


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("百度为您找到相关结果约100,000,000个", 100_000_000),
        ("About 1,230 results (0.45 seconds)", 1230),
        ("About 12 results (0.45 seconds)", 12),
        ("Page 2 of about 1,230 results", 1230),
        ("Ungefähr 1.230.000 Ergebnisse", 1_230_000),
        ("找到相关图片约8张", 8),
        ("约1.2万条", 12000),
        ("no number", None),
    ],
)
def test_counts_as_engines_print_them(text: str, count: int | None) -> None:
    assert parse_count(text) == count


def test_selectors_and_attributes() -> None:
    assert split_selector("h3 a@href") == ("h3 a", "href")
    assert split_selector("@mu") == ("", "mu")
    assert split_selector("a[href*='@x']") == ("a[href*='@x']", None)
    assert split_selector("h3") == ("h3", None)
    check_selector("div.result:not(.ad) > h3 a@href")
    with pytest.raises(ValueError, match="not a CSS selector"):
        check_selector("div[@href")


def test_a_target_shown_as_text_counts_only_as_a_whole_url() -> None:
    rules = SearchRules(results=("div.r",), target=(".show",))
    body = (
        b"<div class=r><a href='/l?1'>one</a><span class=show>https://n.example/a</span></div>"
        b"<div class=r><a href='/l?2'>two</a><span class=show>n.example/b...</span></div>"
    )
    parsed = parse_search_page(
        body, url="https://e.example/s", content_type=HTML, status=200, rules=rules
    )
    assert [r.target for r in parsed.results] == ["https://n.example/a", None]
