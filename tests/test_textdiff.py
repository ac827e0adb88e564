"""The paragraph and sentence text diff, with property tests."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from history.textdiff import diff_text, paragraphs, sentences

OLD = """Dong Jingwei is the vice minister of state security.
He was last seen in public in September 2020. A photo was shared on Twitter.
The photo has since been removed from Baidu."""


def test_removed_and_added_paragraphs_come_out_whole() -> None:
    new = OLD.replace("The photo has since been removed from Baidu.", "Officials deny everything.")
    change = diff_text(OLD, new)
    assert change.removed == ["The photo has since been removed from Baidu."]
    assert change.added == ["Officials deny everything."]


def test_an_edited_paragraph_is_diffed_by_sentence() -> None:
    new = OLD.replace(" A photo was shared on Twitter.", " No photo exists.")
    change = diff_text(OLD, new)
    assert change.removed == ["A photo was shared on Twitter."]
    assert change.added == ["No photo exists."]


def test_whitespace_alone_is_no_change() -> None:
    assert not diff_text(OLD, OLD.replace(" ", "  ").replace("\n", "\n\n"))


def test_sentences_split_on_chinese_and_latin_punctuation() -> None:
    assert sentences("第一句。第二句！Third one? Fourth.") == [
        "第一句。",
        "第二句！",
        "Third one?",
        "Fourth.",
    ]


paragraph = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda p: p.strip() and "\n" not in p and "\r" not in p
)


@given(st.lists(paragraph, max_size=8), st.lists(paragraph, max_size=8))
def test_diff_accounts_for_every_difference(old: list[str], new: list[str]) -> None:
    change = diff_text("\n".join(old), "\n".join(new))
    old_p, new_p = paragraphs("\n".join(old)), paragraphs("\n".join(new))
    if old_p == new_p:
        assert not change
    else:
        assert change
    # nothing reported removed that was not in the old text, nor added that is not in the new
    old_text, new_text = " ".join(old_p), " ".join(new_p)
    assert all(piece in old_text for piece in change.removed)
    assert all(piece in new_text for piece in change.added)


@given(st.lists(paragraph, max_size=8))
def test_identical_text_has_no_change(old: list[str]) -> None:
    text = "\n".join(old)
    assert not diff_text(text, text)
