"""The shipped outlet registry: its size and coverage, keys, domains, and names."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.outletnames import fold
from crawler.outlets import Outlet, OutletRegistry
from crawler.scope import registered_domain

SHIPPED = Path(__file__).resolve().parents[1] / "seeds" / "outlets.toml"
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")


@pytest.fixture(scope="module")
def registry() -> OutletRegistry:
    return OutletRegistry.load(SHIPPED)


def test_registry_covers_the_field(registry: OutletRegistry) -> None:
    assert len(registry) >= 400
    outlets = registry.outlets
    # agencies, broadcasters, Chinese media of the mainland, Hong Kong, Taiwan and the
    # diaspora, Russian, Arabic and Persian media, platforms, search engines
    for key in (
        "reuters", "ap", "afp", "xinhua", "bbc", "cnn", "aljazeera", "dw", "nhk",
        "peoplesdaily", "globaltimes", "caixin", "mingpao", "hk01", "udn", "cna-tw",
        "epochtimes", "zaobao", "kommersant", "meduza", "aawsat", "kayhan", "elpais",
        "facebook", "tiktok", "wechat", "yandex", "sogou", "naver",
    ):  # fmt: skip
        assert key in outlets, key
    assert all(outlets[key].browser for key in ("facebook", "tiktok", "yandex", "douyin"))
    scripts = {
        "Han": "[\u4e00-\u9fff]",
        "Cyrillic": "[\u0400-\u04ff]",
        "Arabic": "[\u0600-\u06ff]",
        "Hangul": "[\uac00-\ud7af]",
    }
    for script, chars in scripts.items():
        named = [o for o in registry if any(re.search(chars, a) for a in o.aliases)]
        assert len(named) >= 20, script


def test_keys_are_unique_in_the_file() -> None:
    keys = re.findall(r"^\[outlets\.([^\]]+)\]", SHIPPED.read_text(encoding="utf-8"), re.M)
    assert [key for key, count in Counter(keys).items() if count > 1] == []
    assert len(keys) == len(tomllib.loads(SHIPPED.read_text(encoding="utf-8"))["outlets"])


def test_domains_and_start_urls_are_valid(registry: OutletRegistry) -> None:
    owners: dict[str, str] = {}
    for outlet in registry:
        for domain in outlet.domains:
            assert _DOMAIN.fullmatch(domain), (outlet.key, domain)
            assert registered_domain(domain) == domain, (outlet.key, domain)
            assert owners.setdefault(domain, outlet.key) == outlet.key, domain
        for url in outlet.start_urls:
            assert urlsplit(url).scheme in ("http", "https"), (outlet.key, url)
            assert registered_domain(url) in outlet.domains, (outlet.key, url)


def test_no_name_is_claimed_twice(registry: OutletRegistry) -> None:
    owners: dict[str, str] = {}
    for outlet in registry:
        for name in {fold(name) for name, _ in outlet.names()}:
            assert owners.setdefault(name, outlet.key) == outlet.key, (name, outlet.key)


def _cited(outlet: Outlet, name: str, kind: str) -> str:
    return f"according to {name}, it rained" if kind == "context" else f"«{name}» and more"


def test_every_name_finds_its_own_outlet(registry: OutletRegistry) -> None:
    # no alias shadows another outlet's name: each name, cited alone, is its outlet's
    wrong = []
    for outlet in registry:
        for name, kind in outlet.names():
            found = [o.key for o, _ in registry.find_named(_cited(outlet, name, kind))]
            if found != [outlet.key]:
                wrong.append((outlet.key, name, found))
    assert wrong == []


def test_names_that_are_common_words_need_a_context(registry: OutletRegistry) -> None:
    for key, word in [("time", "Time"), ("theweek", "The Week"), ("axios", "Axios")]:
        assert dict(registry.outlets[key].names())[word] == "context"
        assert registry.find_named(f"{word} flies") == []
