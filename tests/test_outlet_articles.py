"""Outlets named in articles written for the tests, in seven languages and scripts.

Each article's expectations are in ``tests/data/articles/expected.toml``: the outlets it
names, the sources it names that the registry lacks, and look-alike words (traps).
Precision and recall of outlets are printed per article.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from crawler.outlets import OutletRegistry
from crawler.seeds import load_seed, read_seeds
from tests.fixtures.article import ARTICLE, ARTICLE_OUTLETS

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = Path(__file__).parent / "data" / "articles"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(
    (ARTICLES / "expected.toml").read_text(encoding="utf-8")
)["articles"]


@pytest.fixture(scope="module")
def registry() -> OutletRegistry:
    return OutletRegistry.load(ROOT / "seeds" / "outlets.toml")


def test_articles_cover_languages_and_scripts() -> None:
    languages = {article["language"] for article in EXPECTED.values()}
    assert len(EXPECTED) >= 5
    assert {"Chinese (simplified)", "Chinese (traditional)", "Russian", "Arabic"} <= languages
    assert {"Persian", "Korean", "Spanish", "English"} <= languages


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_article_outlets_precision_and_recall(
    registry: OutletRegistry, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = set(EXPECTED[name]["outlets"])
    reading = read_seeds([str(ARTICLES / f"{name}.txt")], registry)
    found = {citation.outlet for citation in reading.citations}
    right = found & expected
    precision = len(right) / len(found) if found else 1.0
    recall = len(right) / len(expected)
    with capsys.disabled():
        print(
            f"\n{name:13} {EXPECTED[name]['language']:22} outlets {len(expected):2}"
            f"  precision {precision:.2f}  recall {recall:.2f}"
            f"  missed {sorted(expected - found)}  false {sorted(found - expected)}"
        )
    assert found - expected == set()  # no false outlet
    assert recall >= 0.9
    for citation in reading.citations:
        assert citation.source == "named"
        assert citation.outlet is not None
        assert citation.url == registry.outlets[citation.outlet].start_urls[0]
        assert citation.context  # the sentence that names it


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_article_unresolved_names(registry: OutletRegistry, name: str) -> None:
    reading = read_seeds([str(ARTICLES / f"{name}.txt")], registry)
    assert [u.name for u in reading.unresolved] == EXPECTED[name]["unresolved"]
    for unresolved in reading.unresolved:
        record = unresolved.to_dict()
        assert record["url"] is None and record["outlet"] is None
        assert record["source"] == "named-unresolved"
        assert unresolved.name in unresolved.context


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_traps_name_nothing(registry: OutletRegistry, name: str) -> None:
    text = (ARTICLES / f"{name}.txt").read_text(encoding="utf-8")
    for trap in EXPECTED[name]["traps"]:
        assert trap in text, trap
        assert registry.find_named(trap) == [], trap


def test_shipped_article_still_names_exactly_its_ten(registry: OutletRegistry) -> None:
    article = str(ARTICLE)
    reading = read_seeds([article], registry)
    assert [c.outlet for c in reading.citations] == ARTICLE_OUTLETS
    assert reading.unresolved == []
    assert reading.citations == load_seed(article, registry)


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("He told Time on Monday.", ["time"]),
        ("Time magazine reported it", ["time"]),
        ("according to “Mint”, the deal", ["mint"]),
        ("The Week reported; Axios said", ["theweek", "axios"]),
        ("Time is running out; the week ended; a mint; npm install axios", []),
        ("the ABC’s Insiders program and the Guardian's report", ["abc-au", "guardian"]),
        ("AL-JAZEERA, al jazeera and Al Jazeera", ["aljazeera"]),
        ("El Pais and El País", ["elpais"]),
        ("en todo el país", []),
        ("据BBC中文报道，新华社和人民日报", ["bbc", "xinhua", "peoplesdaily"]),
        ("自由時報、自由时报和微博", ["liberty-times", "weibo"]),
        ("연합뉴스는 보도했다", ["yonhap"]),
        ("posted on X yesterday; X marks the spot", ["twitter"]),
        ("по данным Интерфакса и «Коммерсанта»", ["interfax", "kommersant"]),
        ("Google said; Bing agreed; Microsoft too", []),
        ("mail foo@yahoo.no; gossamer-threads.com; X.509; see www.spytalk.co", ["spytalk"]),
        ("the Liberation Sans font", []),
        ("selon Libération", ["liberation"]),
        ("a Line; our Focus", []),
        ("a LINE message, according to FOCUS", ["line", "focus-de"]),
    ],
)
def test_matching(registry: OutletRegistry, text: str, keys: list[str]) -> None:
    assert [outlet.key for outlet, _ in registry.find_named(text)] == keys


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("according to the Zetland Gazette, it rained", ["Zetland Gazette"]),
        ("The Riverside Chronicle reported that", ["The Riverside Chronicle"]),
        ("she wrote in “Kite Review”", ["Kite Review"]),
        ("according to Reuters and the South China Morning Post", []),
        ("according to John Smith; officials reported; he wrote in a tweet", []),
        ("据《亚洲周刊》报道；据新华社报道", ["亚洲周刊"]),
        ("как пишет газета «Трибуна»", ["Трибуна"]),
    ],
)
def test_unresolved_phrases(registry: OutletRegistry, text: str, names: list[str]) -> None:
    assert [name for name, _ in registry.find_unresolved(text)] == names
