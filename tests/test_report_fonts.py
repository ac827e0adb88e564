"""The scrub report reads in any script: each text block says its language, the fonts fall
back to CJK ones, and headless Chromium draws the story's Chinese paragraphs in a CJK font
(not boxes); each scrubbed item links to its replay with ``--replay-base``.

The fonts come from Debian's packages (tests/services.sh: fonts-noto-cjk).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from crawler.cli import main
from history.report import FONT_STYLE, block_lang
from tests.fixtures.story import FIRST, SECOND, Story

CHROMIUM = "/usr/lib/chromium/chromium"
CJK_FAMILIES = ("Noto Sans CJK", "WenQuanYi")


def test_blocks_are_told_their_language() -> None:
    assert block_lang("中文社群媒體近日盛傳，中國國家安全部副部長董經緯已於今年2月攜女兒") == "zh"
    assert block_lang("找到相关图片约3张") == "zh"
    assert block_lang("これは日本語の文です") == "ja"
    assert block_lang("이것은 한국어 문장입니다") == "ko"
    assert block_lang("The Defense Intelligence Agency is said to have debriefed him.") == "en"
    assert block_lang("—") is None
    assert ':lang(zh){font-family:"Noto Sans CJK SC"' in FONT_STYLE


def _report(story: Story, tmp_path: Path, *extra: str) -> str:
    out = tmp_path / "report.html"
    args = ["diff", "--store", str(story.store), "--from", FIRST, "--to", SECOND]
    done = CliRunner().invoke(main, [*args, "--html", str(out), *extra])
    assert done.exit_code == 0, done.output
    return out.read_text(encoding="utf-8")


@pytest.mark.slow
def test_scrubbed_items_link_to_their_replay(story: Story, tmp_path: Path) -> None:
    html = _report(story, tmp_path, "--replay-base", "http://127.0.0.1:8090/")
    links = re.findall(r'<a class="replay" href="([^"]+)">replay</a>', html)
    photo = story.removed_photo
    search = next(u for u, c in story.expected["changes"].items() if c is photo)
    wanted = {
        (query["url"][0], query["ts"][0][:2])
        for query in (parse_qs(urlsplit(link.replace("&amp;", "&")).query) for link in links)
    }
    assert (search, "20") in wanted  # the image search page, as the first crawl saw it
    assert all(link.startswith("http://127.0.0.1:8090/?url=") for link in links)
    assert len(links) == html.count('<li><span class="kind')  # one for every scrubbed item
    assert 'class="replay"' not in _report(story, tmp_path)


@pytest.mark.slow
@pytest.mark.browser
def test_chromium_draws_the_chinese_paragraphs_in_a_cjk_font(story: Story, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    html = _report(story, tmp_path)
    assert '<del lang="zh">' in html
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            page.goto((tmp_path / "report.html").as_uri())
            session = page.context.new_cdp_session(page)
            session.send("DOM.enable")
            session.send("CSS.enable")
            root = session.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
            blocks = session.send(
                "DOM.querySelectorAll", {"nodeId": root, "selector": '[lang="zh"]'}
            )
            assert len(blocks["nodeIds"]) >= 3
            for node in blocks["nodeIds"]:
                fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
                cjk = [f for f in fonts if f["familyName"].startswith(CJK_FAMILIES)]
                # every glyph of a Chinese paragraph drawn in a CJK font, none as a box
                assert cjk and sum(f["glyphCount"] for f in cjk) >= 0.8 * sum(
                    f["glyphCount"] for f in fonts
                ), fonts
            # and two different characters look different (boxes all look alike)
            shots = []
            for char in "董經":
                page.evaluate(
                    """c => { const s = document.createElement('span'); s.lang = 'zh';
                    s.id = 'probe'; s.style.fontSize = '40px'; s.textContent = c;
                    document.getElementById('probe')?.remove(); document.body.prepend(s); }""",
                    char,
                )
                shots.append(page.locator("#probe").screenshot())
            assert shots[0] != shots[1]
            (tmp_path / "report.png").write_bytes(page.screenshot(full_page=True))
        finally:
            browser.close()
