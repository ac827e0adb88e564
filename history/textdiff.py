"""Paragraph diff of extracted text, sentence by sentence inside a changed paragraph.

Whole paragraphs that disappear or appear are reported whole; a paragraph that was
edited (similar enough to pair with its new version) is reported as the sentences
that left it and the sentences that came in, which is how a reader spots a scrub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

# A replaced paragraph this similar to its successor is an edit, not a new paragraph.
EDIT_SIMILARITY = 0.5
_SENTENCE_END = re.compile(r"(?<=[.!?][\"'”’)])\s+|(?<=[.!?])\s+|(?<=[。！？])\s*(?=[^\s」”』])")


@dataclass
class TextChange:
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.removed or self.added)


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.splitlines() if p.strip()]


def sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def _pair_edits(old: list[str], new: list[str], change: TextChange) -> None:
    """Old and new paragraphs of one replaced block, paired where they are edits."""
    unmatched_new = list(new)
    for paragraph in old:
        best, score = None, 0.0
        for candidate in unmatched_new:
            ratio = SequenceMatcher(None, paragraph, candidate, autojunk=False).ratio()
            if ratio > score:
                best, score = candidate, ratio
        if best is None or score < EDIT_SIMILARITY:
            change.removed.append(paragraph)
            continue
        unmatched_new.remove(best)
        inner = diff_sequences(sentences(paragraph), sentences(best), pair=False)
        change.removed.extend(inner.removed)
        change.added.extend(inner.added)
    change.added.extend(p for p in new if p in unmatched_new)


def diff_sequences(old: list[str], new: list[str], *, pair: bool = True) -> TextChange:
    change = TextChange()
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "delete":
            change.removed.extend(old[i1:i2])
        elif op == "insert":
            change.added.extend(new[j1:j2])
        elif op == "replace":
            if pair:
                _pair_edits(old[i1:i2], new[j1:j2], change)
            else:
                change.removed.extend(old[i1:i2])
                change.added.extend(new[j1:j2])
    return change


def diff_text(old: str, new: str) -> TextChange:
    return diff_sequences(paragraphs(old), paragraphs(new))


def similarity(old: str, new: str) -> float:
    return SequenceMatcher(None, paragraphs(old), paragraphs(new), autojunk=False).ratio()
