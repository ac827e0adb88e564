"""Tests of history.soft404: the probe's URL, the comparison with its answer, the wording."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest

from history.soft404 import (
    TOKEN_LENGTH,
    Answer,
    Fingerprint,
    changed_a_lot,
    probe_level,
    probe_url,
    random_token,
    reads_not_found,
    same_answer,
    text_similarity,
)
from tests.fixtures.softweb import DONG, PURGE, X_NOT_FOUND

TOKEN = "k" * TOKEN_LENGTH


@pytest.mark.parametrize(
    ("url", "probe", "level"),
    [
        (
            "https://x.com/hanlianchao/status/1406215417937752066?s=20#top",
            f"https://x.com/hanlianchao/status/{TOKEN}",
            "https://x.com/hanlianchao/status/",
        ),
        (
            "https://blog.example/2021/06/21/dong-jingwei-profile/",
            f"https://blog.example/2021/06/21/{TOKEN}/",
            "https://blog.example/2021/06/21/",
        ),
        (
            "https://news.sina.com.cn/c/2021-06-21/doc-ikqcfnca2261738.shtml",
            f"https://news.sina.com.cn/c/2021-06-21/{TOKEN}.shtml",
            "https://news.sina.com.cn/c/2021-06-21/",
        ),
        ("https://Example.com", f"https://Example.com/{TOKEN}", "https://example.com/"),
        ("https://example.com/", f"https://example.com/{TOKEN}", "https://example.com/"),
        ("http://127.0.0.1:8080/a", f"http://127.0.0.1:8080/{TOKEN}", "http://127.0.0.1:8080/"),
    ],
)
def test_the_probe_is_beside_the_page(url: str, probe: str, level: str) -> None:
    assert probe_url(url, TOKEN) == probe
    assert probe_level(url) == level == probe_level(probe)


def test_tokens_are_random_and_certainly_no_page() -> None:
    tokens = {random_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == TOKEN_LENGTH and t.isalnum() and t.islower() for t in tokens)


def test_pages_of_one_level_share_their_probe_level() -> None:
    a = "https://x.com/hanlianchao/status/1406215417937752066"
    b = "https://x.com/hanlianchao/status/1406219975518765057/"
    c = "https://x.com/someoneelse/status/1406215417937752066"
    assert probe_level(a) == probe_level(b) != probe_level(c)


ARTICLE = "\n".join(DONG)


@pytest.mark.parametrize(
    ("new", "changed"),
    [
        (ARTICLE, False),
        (ARTICLE.replace("Beijing said nothing for days.", "Beijing kept silent."), False),
        ("\n".join(DONG[:4]), False),  # two thirds of it
        ("\n".join(DONG[:2]), True),  # a third of it
        ("\n".join(PURGE), True),  # another article of the same length
        (X_NOT_FOUND, True),
        ("", True),
    ],
)
def test_changed_a_lot(new: str, changed: bool) -> None:
    assert changed_a_lot(Fingerprint.of(ARTICLE), Fingerprint.of(new)) is changed


def test_nothing_to_lose_is_no_change() -> None:
    assert not changed_a_lot(Fingerprint.of(""), Fingerprint.of(X_NOT_FOUND))


def test_a_fingerprint_is_small_and_the_same_in_every_process() -> None:
    print_ = Fingerprint.of(ARTICLE)
    assert print_.length == len(ARTICLE) and len(print_.hashes) == 8 * len(DONG)
    # not Python's hash(), which differs from one process to the next
    assert print_.hashes[:8] == hashlib.blake2b(DONG[0].encode(), digest_size=8).digest()


def _answer(url: str, text: str, *, final: str = "", title: str = "", digest: str = "") -> Answer:
    return Answer(url, final or url, 200, digest or None, title, text)


def test_same_payload_is_the_same_answer() -> None:
    page = _answer("https://x.com/a/status/1", "", digest="sha256:aa")
    probe = _answer("https://x.com/a/status/zz", "", digest="sha256:aa")
    assert same_answer(page, probe)


def test_same_place_after_redirects_is_the_same_answer() -> None:
    page = _answer("https://b.example/2021/p/", "x", final="https://b.example/?s=p")
    probe = _answer("https://b.example/2021/zz/", "y", final="https://b.example/?s=zz")
    assert same_answer(page, probe)
    # a page that was not redirected is not the host sending it away
    stays = _answer("https://b.example/", "x", final="https://b.example/")
    assert not same_answer(stays, probe)


def test_an_answer_that_echoes_its_url_is_still_the_same() -> None:
    page = _answer(
        "https://b.example/s?q=dong+jingwei+profile",
        "Results for “dong jingwei profile”\nNothing Found\nSorry, but nothing matched.",
    )
    probe = _answer(
        f"https://b.example/s?q={TOKEN}",
        f"Results for “{TOKEN}”\nNothing Found\nSorry, but nothing matched.",
    )
    assert text_similarity(page, probe) == 1.0
    assert same_answer(page, probe)


def test_an_article_is_not_the_hosts_not_found() -> None:
    not_found = "Sorry – the page you have requested does not exist"
    page = _answer("https://n.example/a", "\n".join(PURGE[:3]), title="China's security purge")
    probe = _answer("https://n.example/zz", not_found, title=not_found)
    assert text_similarity(page, probe) < 0.2
    assert not same_answer(page, probe)


def test_unknown_or_empty_text_compares_to_nothing() -> None:
    page = _answer("https://n.example/a", "")
    assert text_similarity(page, _answer("https://n.example/b", "")) == 0.0
    unknown = Answer("https://n.example/b", "https://n.example/b", 200, None, None, None)
    assert not same_answer(_answer("https://n.example/a", X_NOT_FOUND), unknown)


def test_characters_of_scripts_without_spaces_are_compared_one_by_one() -> None:
    a = _answer("https://p.example/1", "页面没有找到\n5秒钟之后将会带您进入新浪首页!")
    b = _answer("https://p.example/2", "页面没有找到\n5秒钟之后将会带您进入首页!")
    assert 0.8 < text_similarity(a, b) < 1.0


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Page not found / X", X_NOT_FOUND),
        ("", "Hmm...this page doesn’t exist. Try searching for something else."),
        ("", "Sorry – the page you have requested does not exist"),
        ("", "Sorry, we couldn’t find that page. Check the page address or search for it below."),
        ("", "Nothing Found\nSorry, but nothing matched your search terms."),
        ("", "This video is no longer available."),
        ("", "抱歉，此微博已被作者删除。查看帮助："),
        ("", "抱歉，你访问的页面地址有误，或者该页面不存在。"),
        ("页面没有找到", "5秒钟之后将会带您进入新浪首页!"),
        ("", "對不起，您要找的網頁不存在或已刪除。"),
        ("", "指定されたURLは存在しませんでした。"),
        ("", "お探しのページが見つかりません。"),
        ("", "このページは存在しません。他のキーワードで検索してください。"),
        ("", "Страница не найдена"),
        ("", "Такой страницы нет. Попробуйте поискать что-нибудь другое."),
        ("", "Lo sentimos, la página no existe."),
        ("", "Hmm... esta página no existe. Intenta buscar otra cosa."),
        ("", "هذه الصفحة غير موجودة. حاول البحث عن شيء آخر."),
        ("", "عذراً، لم يتم العثور على الصفحة المطلوبة"),
        ("", "Hmm... cette page n’existe pas. Essayez de faire une autre recherche."),
        ("Erreur 404 - Page introuvable", ""),
        ("", "Hm...diese Seite existiert nicht. Versuche, nach etwas anderem zu suchen."),
        ("", "Die angeforderte Seite wurde nicht gefunden."),
    ],
)
def test_not_found_wordings_in_eight_languages(title: str, text: str) -> None:
    assert reads_not_found(title, text)


@pytest.mark.parametrize(
    "text",
    [
        ARTICLE,
        "\n".join(PURGE),
        "国家安全部18日召开反间谍工作座谈会，部署进一步做好新形势下的反间谍工作。",
        "Правительство опубликовало новый доклад о безопасности.",
        "Die Regierung hat am Freitag einen Bericht vorgelegt.",
    ],
)
def test_articles_do_not_read_like_not_found(text: str) -> None:
    assert not reads_not_found("A headline", text)


def test_the_wording_is_looked_for_at_the_start_only() -> None:
    late = ARTICLE + "\nReaders who follow old links may see: page not found."
    assert not reads_not_found("", late)


def test_probe_url_of_a_url_without_path_keeps_its_host() -> None:
    assert urlsplit(probe_url("https://example.com?q=1", TOKEN)).netloc == "example.com"
