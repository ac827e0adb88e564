"""The local image search for the name alone: what the demo's search seed watches."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from crawler.engines import EngineRegistry
from crawler.localweb import LocalWeb, content
from pipelines.searchparse import parse_search_page


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_the_name_search_answers_both_versions_outside_the_truth(tmp_path: Path) -> None:
    with LocalWeb() as web:
        engine = EngineRegistry.load(web.write_registry(tmp_path / "r.toml")).get("baidu-images")
        assert engine is not None and engine.browser
        url = engine.page_url(content.NAME)
        assert url == web.url("baidu", content.BAIDU_NAME_SEARCH)
        truth = web.expected()
        everything = {*truth["resources"], *truth["browser"]["resources"]}
        name_json = web.url("baidu", content.BAIDU_NAME_JSON)
        assert url not in everything and name_json not in everything
        shell = fetch(web.url("baidu", content.BAIDU_IMAGES))[1]
        assert fetch(url) == (200, shell)  # the image search's shell, for another word
        results = {}
        for version in (1, 2):
            web.set_version(version)
            results[version] = json.loads(fetch(name_json)[1])
        base = web.url("baidu", "")
        thumbs = {v: [d["thumbURL"] for d in r["data"][:-1]] for v, r in results.items()}
        assert thumbs[1] == [base + image for image, _ in content.BAIDU_NAME_RESULTS]
        assert thumbs[2] == [
            u for u in thumbs[1] if u not in {base + p for p in content.V2_NAME_REMOVED}
        ]
        assert (results[1]["bdFmtDispNum"], results[2]["bdFmtDispNum"]) == ("约5", "约3")
        assert "tip" not in results[1] and results[2]["tip"] == content.FILTERED_NOTICE


def test_the_shipped_rules_read_what_the_shell_builds() -> None:
    engines = EngineRegistry.load(Path(__file__).parents[1] / "seeds" / "outlets.toml")
    rules = engines.engines["baidu-images"].rules
    # the DOM the shell's script builds, as a browser leaves it (version 2)
    dom = (
        '<div id="imgContainer"><p class="result-count" id="resultInfo">找到相关图片约3张</p>'
        '<ul class="imglist" id="imgid"><li class="imgitem"><img src="/it/u/1.png" alt="a">'
        f'<p>国家安全部</p></li></ul><p class="tip">{content.FILTERED_NOTICE}</p></div>'
    )
    parsed = parse_search_page(
        dom.encode(), url="http://127.0.0.5/s", content_type="text/html", status=200, rules=rules
    )
    assert [(r.url, r.title) for r in parsed.results] == [
        ("http://127.0.0.5/it/u/1.png", "国家安全部")
    ]
    assert (parsed.count, parsed.notices) == (3, ["filtered"])
