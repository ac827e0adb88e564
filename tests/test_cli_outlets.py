"""`scrubwatch seeds` with the outlet registry: named-unresolved entries, --outlets on top."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crawler.cli import main

ARTICLES = Path(__file__).parent / "data" / "articles"


def seeds_json(*args: str) -> list[dict[str, str | None]]:
    result = CliRunner().invoke(main, ["seeds", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_unresolved_sources_are_listed_without_url() -> None:
    records = seeds_json(str(ARTICLES / "en-wire.txt"))
    unresolved = [r for r in records if r["source"] == "named-unresolved"]
    assert unresolved == [
        {
            "url": None,
            "outlet": None,
            "source": "named-unresolved",
            "name": "Asia Times",
            "context": "Asia Times reported that two other officials were being questioned,"
            " a claim no other outlet has repeated.",
        }
    ]
    assert records[-1] == unresolved[0]  # after the citations
    assert {r["outlet"] for r in records if r["source"] == "named"} >= {"reuters", "mingpao"}


def test_own_registry_goes_on_top_of_the_shipped_one(tmp_path: Path) -> None:
    own = tmp_path / "mine.toml"
    own.write_text(
        '[outlets.asia-times]\nname = "Asia Times"\ndomains = ["asiatimes.com"]\n'
        'start_urls = ["https://asiatimes.com/"]\n',
        encoding="utf-8",
    )
    records = seeds_json(str(ARTICLES / "en-wire.txt"), "--outlets", str(own))
    assert not [r for r in records if r["source"] == "named-unresolved"]
    outlets = [r["outlet"] for r in records]
    assert "asia-times" in outlets and "reuters" in outlets  # the shipped outlets remain


def test_plain_output_shows_unresolved_names() -> None:
    result = CliRunner().invoke(main, ["seeds", str(ARTICLES / "zh-hans.txt")])
    assert result.exit_code == 0, result.output
    assert "named-unresolved 亚洲周刊\n" in result.output
    assert "named        xinhua" in result.output
