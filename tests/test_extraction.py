"""Extraction: payload decoding, the trafilatura facade, its quality, and the worker pool."""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from collections import Counter
from collections.abc import Callable

import brotli
import pytest
import trafilatura
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from scrapy.utils.test import get_crawler
from trafilatura.settings import Document

from crawler import settings as project
from pipelines import extractpool
from pipelines.extract import ExtractPipeline
from pipelines.extraction import (
    Extraction,
    _page_images,
    _stand_in_links,
    decode_content,
    extract_page,
    make_options,
)
from pipelines.extractpool import ExtractorPool, extract_payload
from pipelines.images import srcset_urls
from pipelines.payload import decode_html, parse_html
from pipelines.urls import absolute_urls
from storage.contentcoding import ContentDecodingError, ContentTooLarge
from tests.fixtures.images import IMAGE_XPATH, LXML_SRCSET_XPATH
from tests.fixtures.sample import FALLBACK_PAGE, SAMPLE, sample_page

URL = "http://example.org/news/2026/story.html"
# what the crawl gives its pool, from crawler/settings.py
POOL = {
    "timeout": project.EXTRACT_TIMEOUT,
    "max_bytes": project.EXTRACT_MAX_BYTES,
    "trim_interval": project.MEMORY_TRIM_INTERVAL,
}

ZH_T = "中華民國外交部今日表示，臺灣將持續與國際社會合作，維護區域和平與穩定。記者會上，發言人回答了有關兩岸關係的問題。"
ZH_S = "中华人民共和国外交部发言人今天在例行记者会上表示，中方坚决反对任何形式的干涉。记者就相关问题进行了提问。"
JA = "日本政府は本日、新しい経済対策を発表しました。首相は記者会見で、国民の生活を守るために全力を尽くすと述べました。"
FR = "Le café crème coûte 5 € à la brasserie « Chez Zoë » — naïve façade, déjà vu. Señor Müller’s smörgåsbord était “très” raffiné."


def page(text: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{head}<title>Title</title></head>"
        f"<body><article><p>{text}</p></article></body></html>"
    )


ENCODINGS = {
    "big5 in meta": (page(ZH_T, '<meta charset="big5">').encode("big5"), "text/html", ZH_T),
    "big5 undeclared": (page(ZH_T).encode("big5"), "text/html", ZH_T),
    "gb18030 as gb2312 in header": (
        page(ZH_S).encode("gb18030"),
        "text/html; charset=gb2312",
        ZH_S,
    ),
    "gb18030 undeclared": (page(ZH_S).encode("gb18030"), "text/html", ZH_S),
    "shift-jis in header only": (
        page(JA).encode("shift_jis"),
        "text/html; charset=Shift_JIS",
        JA,
    ),
    "shift-jis in meta only": (
        page(JA, '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">').encode(
            "shift_jis"
        ),
        "text/html",
        JA,
    ),
    "shift-jis undeclared": (page(JA).encode("shift_jis"), "text/html", JA),
    "windows-1252 undeclared": (page(FR).encode("cp1252"), "text/html", FR),
    "windows-1252 as latin-1 in meta": (
        page(FR, '<meta charset="iso-8859-1">').encode("cp1252"),
        "text/html",
        FR,
    ),
    "utf-8 with BOM, meta says latin-1": (
        b"\xef\xbb\xbf" + page(FR, '<meta charset="iso-8859-1">').encode(),
        "text/html; charset=iso-8859-1",
        FR,
    ),
    "utf-8 undeclared": (page(FR).encode(), "text/html", FR),
    "utf-8 in header, meta wrong": (
        page(JA, '<meta charset="windows-1251">').encode(),
        "text/html; charset=utf-8",
        JA,
    ),
}


@pytest.mark.parametrize("case", ENCODINGS, ids=list(ENCODINGS))
def test_text_comes_out_right_in_every_encoding(case: str) -> None:
    body, content_type, expected = ENCODINGS[case]
    result = extract_page(body, URL, content_type)
    assert result.status == "ok", result.reason
    assert result.text == expected
    assert result.title == "Title"


def test_nearly_valid_utf8_keeps_its_text_and_broken_utf8_is_refused() -> None:
    text = "Ünïcödé “quotes” — 中文字符 and Café crème brûlée. " * 20
    body = bytearray(page(text).encode())
    body[body.index("中".encode()) + 1] = 0x41  # one bad sequence among hundreds
    nearly = extract_page(bytes(body), URL, "text/html; charset=utf-8")
    assert nearly.status == "ok"
    assert nearly.text.count("\ufffd") == 2  # the lead byte, and the orphan continuation
    assert "— \ufffdA\ufffd文字符" in nearly.text
    assert "Café crème brûlée" in nearly.text
    for i in range(0, len(body), 7):
        if body[i] >= 0x80:
            body[i] = 0x41
    broken = extract_page(bytes(body), URL, "text/html; charset=utf-8")
    assert (broken.status, broken.text) == ("decode_error", "")


@pytest.mark.parametrize(
    "body",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(2000),
        os.urandom(4000),
    ],
    ids=["png", "jpeg", "random"],
)
def test_binary_served_as_html_is_never_text(body: bytes) -> None:
    result = extract_page(body, URL, "text/html")
    assert result.status in ("not_html", "decode_error")
    assert result.text == ""


def test_non_html_and_empty_pages() -> None:
    assert extract_page(b"%PDF-1.7", URL, "application/pdf").status == "not_html"
    assert extract_page(b"plain words", URL, "").status == "not_html"
    assert extract_page(page(FR).encode(), URL, "").status == "ok"  # sniffed as HTML
    assert extract_page(b"", URL, "text/html").status == "empty"
    assert extract_page(b" \r\n", URL, "text/html").status == "empty"
    no_text = (
        b'<html lang="de"><head><title>Bild</title></head><body><img src="a.jpg"></body></html>'
    )
    empty = extract_page(no_text, URL, "text/html")
    assert (empty.status, empty.title, empty.language) == ("empty", "Bild", "de")
    assert empty.images == ["http://example.org/news/2026/a.jpg"]


def test_links_of_the_main_content_and_all_images_are_absolute() -> None:
    paragraph = "The minister resigned on Monday after the report was published in full. " * 3
    html = f"""<html><head><title>Story</title>
    <meta property="og:image" content="/og.jpg"><meta name="twitter:image" content="tw.png">
    <meta name="author" content="Jane Doe"><meta property="article:published_time"
    content="2026-11-20T08:00:00Z"></head><body>
    <nav><a href="/section">Section</a></nav>
    <article><p>{paragraph} <a href="report.pdf">the report</a>,
    <a href="../2025/older.html#top">an older story</a> and
    <a href="//cdn.example.net/x">a mirror</a>.</p>
    <picture><source srcset="p-1x.webp 1x, p-2x.webp 2x"><source srcset="p.avif"><img src="p.jpg"
    srcset="q-320.jpg 320w, https://img.example.org/q-640.jpg 640w"></picture>
    <p>{paragraph}</p></article><footer><a href="/about">About</a></footer></body></html>"""
    result = extract_page(html.encode(), URL, "text/html; charset=utf-8")
    assert result.status == "ok"
    assert result.links == [
        "http://example.org/news/2026/report.pdf",
        "http://example.org/news/2025/older.html",
        "http://cdn.example.net/x",
    ]
    assert set(result.images) == {
        "http://example.org/og.jpg",
        "http://example.org/news/2026/tw.png",
        "http://example.org/news/2026/p-1x.webp",
        "http://example.org/news/2026/p-2x.webp",
        "http://example.org/news/2026/p.avif",  # lxml nests it in the first source
        "http://example.org/news/2026/p.jpg",
        "http://example.org/news/2026/q-320.jpg",
        "https://img.example.org/q-640.jpg",
    }
    assert (result.title, result.author, result.published) == ("Story", "Jane Doe", "2026-11-20")
    assert result.language == "en"
    assert "[" not in result.text and "the report" in result.text


def test_the_image_walk_finds_what_the_xpaths_find_on_every_sample_page() -> None:
    for stem, (html, _) in sample().items():
        tree = parse_html(decode_html(html, "text/html")[0])
        found = [str(v) for v in tree.xpath(IMAGE_XPATH)]
        found += [url for v in tree.xpath(LXML_SRCSET_XPATH) for url in srcset_urls(str(v))]
        assert _page_images(tree, URL, "utf-8") == absolute_urls(URL, found), stem


def test_base_href_decides_where_relative_links_point() -> None:
    text = "A long enough paragraph of news text, with a link in the middle of it. " * 3
    html = (
        '<html><head><base href="https://mirror.example.com/root/"></head><body><article>'
        f'<p>{text}<a href="doc.html">a document</a></p></article></body></html>'
    )
    result = extract_page(html.encode(), URL, "text/html")
    assert result.links == ["https://mirror.example.com/root/doc.html"]


# --- content codings -------------------------------------------------------------


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
    "identity": lambda data: data,
}


@pytest.mark.parametrize("coding", CODINGS)
def test_content_codings_are_undone(coding: str) -> None:
    body = page(FR).encode() * 50
    assert decode_content(CODINGS[coding](body), coding) == body


def test_raw_deflate_several_codings_and_gzip_members() -> None:
    body = page(JA).encode()
    assert decode_content(deflate_raw(body), "deflate") == body
    assert decode_content(brotli.compress(gzip.compress(body)), "gzip, br") == body
    assert decode_content(gzip.compress(body[:50]) + gzip.compress(body[50:]), "gzip") == body
    with pytest.raises(ContentDecodingError, match="unsupported"):
        decode_content(body, "compress")
    with pytest.raises(ContentDecodingError):
        decode_content(b"\x1f\x8bnot gzip at all", "gzip")


def bomb(coding: str, size: int) -> bytes:
    """``size`` zero bytes compressed, built a megabyte at a time."""
    chunk = bytes(1 << 20)
    if coding == "gzip":
        gz = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return b"".join(gz.compress(chunk) for _ in range(size >> 20)) + gz.flush()
    if coding == "br":
        br = brotli.Compressor(quality=1)
        return b"".join(br.process(chunk) for _ in range(size >> 20)) + br.finish()
    zs = zstandard.ZstdCompressor(level=1).compressobj()
    return b"".join(zs.compress(chunk) for _ in range(size >> 20)) + zs.flush()


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    return bomb("gzip", 1 << 30)  # 1 GiB of zeros in about 4.5 MB


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_decompression_bombs_stay_bounded(coding: str, gzip_bomb: bytes) -> None:
    data = gzip_bomb if coding == "gzip" else bomb(coding, 1 << 30)
    started = time.monotonic()
    with pytest.raises(ContentTooLarge):
        decode_content(data, coding, max_bytes=8 << 20)
    assert time.monotonic() - started < 2
    assert extract_payload(data, URL, "text/html", coding).status == "too_large"


# --- quality on the extraction sample (see its README) --------------------------------


def shingle_f1(predicted: str | None, truth: str) -> float:
    """F1 of character 4-shingles of whitespace-normalised text (multiset overlap)."""

    def shingles(text: str | None) -> Counter[str]:
        text = " ".join((text or "").split())
        return Counter(text[i : i + 4] for i in range(len(text) - 3))

    pred, true = shingles(predicted), shingles(truth)
    overlap = sum((pred & true).values())
    if not overlap:
        return 1.0 if not pred and not true else 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(true.values())
    return 2 * precision * recall / (precision + recall)


def sample() -> dict[str, tuple[bytes, dict[str, str]]]:
    truth = json.loads((SAMPLE / "ground-truth.json").read_text())
    return {
        stem: (gzip.decompress((SAMPLE / "html" / f"{stem}.html.gz").read_bytes()), entry)
        for stem, entry in truth.items()
    }


def _tree_bytes(tree: object) -> bytes | None:
    return None if tree is None else etree.tostring(tree)


def test_parse_html_makes_load_htmls_tree_of_every_sample_page() -> None:
    for stem, (html, _) in sample().items():
        text = decode_html(html, "text/html")[0]
        assert _tree_bytes(parse_html(text)) == _tree_bytes(trafilatura.load_html(text)), stem


_PIECES = st.sampled_from(
    [
        "<!DOCTYPE html>", '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x/y.dtd">',
        "<! DOCTYPE x/>", "<html>", "<html/>", "<html lang=de />", "<head>", "<title>T</title>",
        "<body>", "<p>", "</p>", "<div class=a>", "</div>", "<br/>", "<!-- c -->", "<?pi x?>",
        "\n", "\r\n", " ", "text", "Zoë", "中文", "😀", "&amp;", "&#0;", "<", ">", "/",
        "\x00", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\ufffe", "\uffff", "\ufffd",
        "\ud800", "<meta charset=latin-1>", "<script>if (a<b) x()</script>", "</html>",
    ]
)  # fmt: skip


_PAGE = st.lists(_PIECES, max_size=30).map("".join)
# what comes after 4 KB of a page parse_html cleans itself, what comes before it leaves
# to load_html when it holds a character to clean
_LONG_PAGE = st.tuples(_PAGE, _PAGE).map(lambda p: f"{p[0]}\n<p>{'y' * 4100}</p>{p[1]}")


@settings(max_examples=400, deadline=None)
@given(st.one_of(_PAGE, _LONG_PAGE))
def test_parse_html_makes_load_htmls_tree(html: str) -> None:
    assert _tree_bytes(parse_html(html)) == _tree_bytes(trafilatura.load_html(html))


@pytest.mark.slow
def test_quality_on_the_sample_loses_nothing_to_bare_trafilatura() -> None:
    pages = sample()
    assert len(pages) == 61
    ours, bare = {}, {}
    for stem, (html, truth) in pages.items():
        ours[stem] = shingle_f1(
            extract_page(html, truth["url"], "text/html").text, truth["articleBody"]
        )
        bare[stem] = shingle_f1(trafilatura.extract(html), truth["articleBody"])
    assert sum(ours.values()) / len(ours) >= 0.90
    assert [s for s in pages if ours[s] < bare[s] - 0.02] == []


@pytest.mark.slow
def test_metadata_is_what_trafilatura_with_metadata_finds() -> None:
    """page_metadata skips the fields the dataset does not keep, not the ones it keeps."""
    pages = [(html, truth["url"]) for html, truth in sample().values()]
    pages.append((page(FR, '<meta name="author" content="Zoë Müller">').encode(), URL))
    found = 0
    for html, url in pages:
        ours = extract_page(html, url, "text/html")
        options = make_options()
        options.with_metadata, options.url, options.source = True, url, url
        tree = trafilatura.load_html(decode_html(html, "text/html")[0])
        _stand_in_links(tree)  # as extract_page does before looking for metadata
        theirs = trafilatura.bare_extraction(tree, options=options)
        assert isinstance(theirs, Document)
        assert (ours.title, ours.author, ours.published) == (
            theirs.title or None,
            theirs.author or None,
            theirs.date or None,
        ), url
        found += bool(ours.title and ours.author and ours.published)
    assert found >= len(pages) // 2


# --- the pool --------------------------------------------------------------------------


def misbehave(body: bytes, url: str, content_type: str, content_encoding: str) -> Extraction:
    """A task for the pool that hangs, dies or eats memory on request."""
    if body == b"hang":
        time.sleep(3600)
    if body == b"crash":
        os._exit(3)
    if body == b"hog":
        bytearray(2 << 30)  # past the worker's 1 GiB address-space limit
    return extract_payload(body, url, content_type, content_encoding)


@pytest.mark.slow
def test_pool_survives_hangs_crashes_and_memory_hogs() -> None:
    good = page(FR).encode()
    with ExtractorPool(2, **{**POOL, "timeout": 3}, func=misbehave) as pool:
        futures = [pool.submit(b, URL, "text/html") for b in (b"hang", b"crash", b"hog", good)]
        hang, crash, hog, after = (f.result(timeout=60) for f in futures)
        assert hang.status == "timeout"
        assert (crash.status, crash.reason) == ("error", "worker died (exit code 3)")
        assert hog.status == "error" and "MemoryError" in hog.reason
        assert (after.status, after.text) == ("ok", FR)
        # killed workers were replaced: the pool still has two
        again = [pool.submit(good, URL, "text/html") for _ in range(4)]
        assert {f.result(timeout=60).status for f in again} == {"ok"}


@pytest.mark.slow
def test_pool_matches_in_process_extraction_and_bounds_bombs(gzip_bomb: bytes) -> None:
    pages = list(sample().items())[:8]
    tagged = [
        (stem, (gzip.compress(html), t["url"], "text/html", "gzip")) for stem, (html, t) in pages
    ]
    tagged.append(("bomb", (gzip_bomb, URL, "text/html", "gzip")))
    with ExtractorPool(2, **POOL) as pool:
        results = list(pool.map_ordered(tagged, window=3))
        oversized = pool.submit(bytes(pool.max_bytes + 1), URL, "text/html").result()
    assert [tag for tag, _ in results] == [tag for tag, _ in tagged]
    by_tag = dict(results)
    assert by_tag.pop("bomb").status == "too_large"
    assert oversized.status == "too_large"
    for stem, (html, truth) in pages:
        assert by_tag[stem] == extract_page(html, truth["url"], "text/html")


def which_worker(body: bytes, url: str, content_type: str, content_encoding: str) -> Extraction:
    """A task that says which process ran it."""
    return Extraction("ok", str(os.getpid()))


def test_workers_are_replaced_after_max_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extractpool, "MAX_TASKS", 3)
    with ExtractorPool(1, **POOL, func=which_worker) as pool:
        pids = [pool.submit(b"x", f"http://e.test/{i}", "text/html").result() for i in range(7)]
    assert all(p.status == "ok" for p in pids)
    runs = [pids[i : i + 3] for i in range(0, 7, 3)]
    assert [len({p.reason for p in run}) for run in runs] == [1, 1, 1]  # 3 pages a worker
    assert len({p.reason for p in pids}) == 3


def what_workers_inherit(
    body: bytes, url: str, content_type: str, content_encoding: str
) -> Extraction:
    """A task that says whether the jusText stoplist was built before the worker's first page."""
    from justext.core import define_stoplist
    from trafilatura import external

    built = len(external.JT_STOPLIST) > 100_000 and define_stoplist.cache_info().currsize == 1
    return Extraction("ok", str(built))


def test_workers_start_with_the_fallback_stoplist_built() -> None:
    # built once in the fork server and shared, not once per worker on its first page
    with ExtractorPool(1, **POOL, func=what_workers_inherit) as pool:
        assert pool.submit(b"x", URL, "text/html").result().reason == "True"


def test_workers_give_back_free_memory_at_most_every_trim_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trims: list[float] = []
    clock = [1000.0]
    monkeypatch.setattr(extractpool.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(extractpool, "trim_malloc", lambda: trims.append(clock[0]) or True)
    monkeypatch.setattr(extractpool, "_last_trim", float("-inf"))
    monkeypatch.setattr(extractpool, "_worker_trim_interval", 2.0)
    html = page(FR).encode()
    assert extract_payload(html, URL, "text/html", "").status == "ok"  # a first page: trim
    clock[0] += 1.0
    assert extract_payload(html, URL, "text/html", "").status == "ok"  # too soon
    clock[0] += 1.0
    assert extract_payload(b"\x1f\x8b broken", URL, "text/html", "gzip").status == "decode_error"
    assert trims == [1000.0, 1002.0]
    monkeypatch.setattr(extractpool, "_worker_trim_interval", 0.0)  # never
    clock[0] += 100.0
    assert extract_payload(html, URL, "text/html", "").status == "ok"
    assert trims == [1000.0, 1002.0]


def worker_trim_interval(
    body: bytes, url: str, content_type: str, content_encoding: str
) -> Extraction:
    """A task that says how often its worker gives memory back."""
    return Extraction("ok", str(extractpool._worker_trim_interval))


def test_memory_trim_interval_setting_reaches_the_workers() -> None:
    names = ("EXTRACT_ENABLED", "EXTRACT_TIMEOUT", "EXTRACT_MAX_BYTES", "CRAWL_ID")
    crawler = get_crawler(
        settings_dict={
            **{name: getattr(project, name, "c1") for name in names},
            "EXTRACT_WORKERS": 1,
            "MEMORY_TRIM_INTERVAL": 2.5,
        }
    )
    pipeline = ExtractPipeline.from_crawler(crawler)
    pipeline.pool.func = worker_trim_interval
    try:
        assert pipeline.pool.submit(b"x", URL, "text/html").result().reason == "2.5"
    finally:
        pipeline.close_spider()


@pytest.mark.slow
@pytest.mark.parametrize("fast", [False, True])
def test_extract_fast_setting_reaches_the_workers(fast: bool) -> None:
    names = ("EXTRACT_ENABLED", "EXTRACT_TIMEOUT", "EXTRACT_MAX_BYTES", "CRAWL_ID")
    crawler = get_crawler(
        settings_dict={
            **{name: getattr(project, name, "c1") for name in names},
            "EXTRACT_WORKERS": 1,
            "EXTRACT_FAST": fast,
        }
    )
    pipeline = ExtractPipeline.from_crawler(crawler)
    html = sample_page(FALLBACK_PAGE)
    try:
        got = pipeline.pool.submit(html, URL, "text/html").result()
    finally:
        pipeline.close_spider()
    full = extract_page(html, URL, "text/html", options=make_options())
    quick = extract_page(html, URL, "text/html", options=make_options(fast=True))
    assert len(quick.text) < len(full.text) / 2  # the page tells the two modes apart
    assert got.text == (quick if fast else full).text
