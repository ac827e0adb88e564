"""Seeds to citations: article text, saved and fetched pages, seed lists, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.outlets import OutletRegistry
from crawler.seeds import (
    Citation,
    SeedError,
    citations_from_html,
    citations_from_list,
    citations_from_text,
    load_seed,
    load_seeds,
)
from tests.fixtures.article import ARTICLE, ARTICLE_OUTLETS

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "seeds"
REGISTRY = OutletRegistry.load(ROOT / "seeds" / "outlets.toml")


def urls(citations: list[Citation]) -> list[str]:
    return [citation.url for citation in citations]


def test_shipped_article_cites_every_outlet_it_names() -> None:
    citations = load_seed(str(ARTICLE), REGISTRY)

    assert [c.outlet for c in citations] == ARTICLE_OUTLETS
    for citation in citations:
        assert citation.outlet is not None
        assert citation.source == "named"
        assert citation.url == REGISTRY.outlets[citation.outlet].start_urls[0]
    by_outlet = {c.outlet: c for c in citations}
    assert by_outlet["the-stream"].context == (
        "Mike Huckabee notes on The Stream about the shocking information Dong Jingwei has"
        " provided to the DIA:"
    )
    assert by_outlet["liberty-times"].context == (
        "Rumors of Dong’s defection first circulated on Chinese-language social media"
        " platforms, Taiwan’s Liberty Times reported Saturday."
    )
    assert by_outlet["baidu"].url == (
        "https://image.baidu.com/search/index?tn=baiduimage&word=%E8%91%A3%E7%BB%8F%E7%BA%AC"
    )


def test_html_main_content_links_only() -> None:
    citations = load_seed(str(DATA / "article.html"), REGISTRY)

    assert [(c.url, c.outlet, c.source) for c in citations] == [
        (
            "https://www.dailytelegraph.com.au/news/world/dong-jingwei-defection",
            "daily-telegraph-au",
            "link",
        ),
        ("https://www.spytalk.co/p/chinas-spy-catcher", "spytalk", "link"),
        # relative to the canonical URL, as the page was saved to disk
        ("https://news.example.com/world/2021/analysis/defectors.html", None, "link"),
        # a paragraph that is only a link, among the body's paragraphs
        ("https://www.upi.com/Top_News/World-News/2021/06/21/Dong-Jingwei/", "upi", "link"),
        # protocol-relative
        (
            "https://image.baidu.com/search/index?tn=baiduimage&word=%E8%91%A3%E7%BB%8F%E7%BA%AC",
            "baidu",
            "link",
        ),
        # named in the body without a link; not the Telegraph that the linked one already is
        ("https://news.ltn.com.tw/", "liberty-times", "named"),
        ("https://www.scmp.com/", "scmp", "named"),
    ]
    assert citations[0].context == "the Daily Telegraph in Sydney"
    assert citations[1].context == "SpyTalk, a newsletter covering U.S. intelligence"
    assert citations[3].context == "UPI has more"
    assert citations[5].context.startswith("Taiwan's Liberty Times reported on Saturday")
    assert not any("](" in c.context for c in citations)  # link text, not markdown


def test_saved_page_with_base_href() -> None:
    citations = load_seed(str(DATA / "cp1252-base.html"), REGISTRY)
    assert urls(citations)[:2] == [
        "https://archive.example.net/2021/stories/cafe-berlin.html",
        "https://archive.example.net/2021/sources/ministry.html",
    ]


def test_saved_page_without_any_base_drops_relative_links(tmp_path: Path) -> None:
    page = (DATA / "article.html").read_text(encoding="utf-8")
    page = page.replace('rel="canonical"', 'rel="author"').replace("og:url", "og:site")
    path = tmp_path / "saved.html"
    path.write_text(page, encoding="utf-8")
    citations = load_seed(str(path), REGISTRY)
    assert "https://www.spytalk.co/p/chinas-spy-catcher" in urls(citations)
    assert all(url.startswith("https://") for url in urls(citations))
    assert not any("defectors" in url for url in urls(citations))  # relative: file:// only
    # protocol-relative against file:// is no web link either: Baidu is cited as named
    assert ("baidu", "named") in [(c.outlet, c.source) for c in citations]


def test_unparseable_html_names_the_page() -> None:
    with pytest.raises(SeedError, match=r"^seed https://a\.example/x: cannot parse HTML$"):
        citations_from_html(b"plain words", "https://a.example/x", REGISTRY)


def test_html_bytes_in_declared_charset_resolve_against_base_href() -> None:
    html = (DATA / "cp1252-base.html").read_bytes()
    citations = citations_from_html(html, "https://elsewhere.example.com/page", REGISTRY)

    assert [(c.url, c.context) for c in citations] == [
        (
            "https://archive.example.net/2021/stories/cafe-berlin.html",
            "“Le Café”, our earlier story",
        ),
        ("https://archive.example.net/2021/sources/ministry.html", "the ministry’s statement"),
        ("https://www.scmp.com/", citations[2].context),
    ]
    assert "Twitter" not in " ".join(c.context for c in citations)  # footer only


def test_url_seed_is_fetched_and_parsed() -> None:
    page = (DATA / "article.html").read_bytes()
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return page

    seed = "https://news.example.com/world/2021/06/dong-jingwei-missing.html"
    citations = load_seed(seed, REGISTRY, fetch)
    assert fetched == [seed]
    assert citations[0].url.startswith("https://www.dailytelegraph.com.au/")
    assert seed not in urls(citations)


def test_text_urls_then_named_outlets() -> None:
    text = (
        "See https://www.upi.com/Top_News/2021/06/21/x/ (UPI), and the wiki "
        "(https://en.wikipedia.org/wiki/Dong_Jingwei_(official)). Also "
        "<https://x.com/a/status/1>; as the South China Morning Post said.\n"
        "Repeated: https://www.upi.com/Top_News/2021/06/21/x/. A bare www.spytalk.co names one."
    )
    citations = citations_from_text(text, REGISTRY)

    assert [(c.url, c.outlet, c.source) for c in citations] == [
        ("https://www.upi.com/Top_News/2021/06/21/x/", "upi", "url-in-text"),
        ("https://en.wikipedia.org/wiki/Dong_Jingwei_(official)", None, "url-in-text"),
        ("https://x.com/a/status/1", "twitter", "url-in-text"),
        ("https://www.scmp.com/", "scmp", "named"),
        ("https://www.spytalk.co/", "spytalk", "named"),
    ]
    assert citations[0].context == "See https://www.upi.com/Top_News/2021/06/21/x/ (UPI), and" + (
        " the wiki (https://en.wikipedia.org/wiki/Dong_Jingwei_(official))."
    )


def test_seed_list_with_comments() -> None:
    citations = load_seed(str(DATA / "cited.seeds"), REGISTRY)

    assert [(c.url, c.outlet, c.context) for c in citations] == [
        (
            "https://www.dailytelegraph.com.au/news/world/dong-jingwei-defection",
            "daily-telegraph-au",
            "The Daily Telegraph (Australia)",
        ),
        (
            "https://www.upi.com/Top_News/World-News/2021/06/21/china-Dong-Jingwei/",
            "upi",
            "UPI report",
        ),
        ("https://news.ltn.com.tw/news/world/breakingnews/3570000", "liberty-times", ""),
        ("https://example.org/unlisted-outlet/story.html", None, ""),
    ]
    assert {c.source for c in citations} == {"listed"}


@pytest.mark.parametrize("name", ["links.txt", "links.md"])
def test_text_file_of_only_urls_is_a_list(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("# Sources\n\nhttps://upi.com/a\nhttps://scmp.com/b  # SCMP\n", "utf-8")
    citations = load_seed(str(path), REGISTRY)
    assert [(c.url, c.source, c.context) for c in citations] == [
        ("https://upi.com/a", "listed", ""),
        ("https://scmp.com/b", "listed", "SCMP"),
    ]


def test_text_file_with_prose_is_an_article(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nhttps://upi.com/a\nUPI has more on it.\n", "utf-8")
    citations = load_seed(str(path), REGISTRY)
    assert [(c.url, c.source) for c in citations] == [("https://upi.com/a", "url-in-text")]


def test_load_seeds_deduplicates_across_seeds(tmp_path: Path) -> None:
    extra = tmp_path / "extra.seeds"
    extra.write_text("https://www.scmp.com/\nhttps://example.com/new\n", "utf-8")
    citations = load_seeds([str(ARTICLE), str(extra)], REGISTRY)

    assert len(urls(citations)) == len(set(urls(citations))) == 11
    scmp = next(c for c in citations if c.url == "https://www.scmp.com/")
    assert scmp.source == "named"  # the first seed's citation wins
    assert citations[-1] == Citation("https://example.com/new", None, "listed", "")


def test_citation_to_dict() -> None:
    citation = Citation("https://upi.com/", "upi", "named", "UPI has more:")
    assert citation.to_dict() == {
        "url": "https://upi.com/",
        "outlet": "upi",
        "source": "named",
        "context": "UPI has more:",
    }


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.html", b" \n\t\n", "empty file"),
        ("comments.seeds", b"# nothing yet\n\n", "empty file (only comments)"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not text (binary content)"),
        ("page.html", b"<html>\x00\x00\x00</html>", "not text (binary content)"),
        ("latin1.txt", "Café UPI".encode("latin-1"), "not text (invalid UTF-8 at byte 3)"),
        ("fragment.htm", b"just some words, no markup at all", "cannot parse HTML"),
        ("report.pdf", b"%PDF-1.7", "unsupported file type"),
        ("bad.seeds", b"https://ok.example/\n\nftp://files.example/x\n", "line 3: not an http"),
        ("bad.txt", b"https://ok.example/\nhttps://[broken\n", "line 2: not an http(s) URL"),
    ],
)
def test_bad_seed_files(tmp_path: Path, name: str, content: bytes, problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SeedError) as raised:
        load_seed(str(path), REGISTRY)
    message = str(raised.value)
    assert message.startswith(f"seed {path}: ")
    assert problem in message
    assert "\n" not in message


def test_missing_and_directory_seeds(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"^seed .*/y\.txt: file not found$"):
        load_seed(str(tmp_path / "y.txt"), REGISTRY)
    with pytest.raises(SeedError, match=r"^seed .*: not a file$"):
        load_seed(str(tmp_path), REGISTRY)


def test_utf16_text_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes("\ufeffThe story ran in the South China Morning Post.".encode("utf-16-le"))
    assert [c.outlet for c in load_seed(str(path), REGISTRY)] == ["scmp"]


@pytest.mark.parametrize(
    ("seed", "problem"),
    [
        ("ftp://files.example.com/a.html", "unsupported URL scheme (use http or https)"),
        ("file:///etc/passwd", "unsupported URL scheme (use http or https)"),
        ("https:///no-host", "not a valid URL (no host)"),
        ("https://example.com/a", "URL seeds need a fetcher here; save the page as .html"),
    ],
)
def test_bad_url_seeds(seed: str, problem: str) -> None:
    with pytest.raises(SeedError) as raised:
        load_seed(seed, REGISTRY)
    assert str(raised.value) == f"seed {seed}: {problem}"


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (b"", "empty response"),
        (b"\x00\x01binary", "cannot parse HTML"),
        (ConnectionRefusedError("refused"), "cannot fetch (refused)"),
    ],
)
def test_url_seed_fetch_failures(response: bytes | OSError, problem: str) -> None:
    def fetch(url: str) -> bytes:
        if isinstance(response, OSError):
            raise response
        return response

    with pytest.raises(SeedError) as raised:
        load_seed("https://example.com/a", REGISTRY, fetch)
    assert str(raised.value) == f"seed https://example.com/a: {problem}"


@given(st.text())
def test_any_text_gives_only_http_citations(text: str) -> None:
    for citation in citations_from_text(text, REGISTRY):
        assert citation.url.startswith(("http://", "https://"))
        assert citation.source in ("url-in-text", "named")
        assert "\n" not in citation.context


_host = st.from_regex(r"[a-z][a-z0-9-]{0,12}\.(com|org|net|co\.uk|com\.au)", fullmatch=True)
_path = st.from_regex(r"([A-Za-z0-9._~-]{0,10}/){0,4}(\?[a-z]=[A-Za-z0-9]{0,6})?", fullmatch=True)
_url = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}",
    st.sampled_from(["http", "https"]),
    _host,
    _path,
)


@given(_url, st.text(), st.text())
def test_url_written_in_any_text_is_found(url: str, before: str, after: str) -> None:
    citations = citations_from_text(f"{before} {url} {after}", REGISTRY)
    assert url in urls(citations)


@given(st.lists(_url, min_size=1, max_size=20), st.sampled_from(["\n", "\r\n"]))
def test_seed_list_round_trip(listed: list[str], newline: str) -> None:
    text = newline.join(f"# entry {i}{newline}{url}" for i, url in enumerate(listed))
    citations = citations_from_list(text, REGISTRY)
    assert urls(citations) == list(dict.fromkeys(listed))
    for citation in citations:
        outlet = REGISTRY.outlet_for_url(citation.url)
        assert citation.outlet == (outlet.key if outlet else None)
