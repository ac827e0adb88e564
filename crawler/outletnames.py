"""Names of outlets in text, found by a few compiled patterns whatever the registry's size.

:class:`NameMatcher` is built once from every name of every outlet (a few thousand): the
names are folded into tries, one for each shape of name (whether it begins and ends in a
script written with spaces), each written out as one regular expression and run over a
flattened copy of the text (lowercase, unaccented), so a text is scanned four times
however many outlets there are.

A name matches as whole words, ignoring case, accents on Latin letters, the kind of
apostrophe, and whether its words are joined by spaces, line breaks or hyphens
("Al-Jazeera" is "Al Jazeera"); a possessive ("the ABC's") or quotes around it do not
hide it. Names in scripts written without spaces (Chinese, Japanese, Korean, Thai) need
no word boundary, and a Latin name needs none next to them ("据BBC报道"). Three kinds of
name:

- ``any``: any case (``South China Morning Post``);
- ``exact``: only as written (acronyms, ``Rumble``);
- ``context``: only as written *and* in an outlet context (``told Time``, ``Time
  magazine``, ``according to Mint``), for outlets whose name is a common word.

:func:`unresolved_names` finds the sources a text cites that no outlet's name covers:
"reported by X", "according to X", "X reported", "told X", "wrote in X", and their
Chinese and Russian forms.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

NameKind = Literal["any", "exact", "context"]
_KIND_RANK: dict[NameKind, int] = {"context": 0, "exact": 1, "any": 2}

_APOSTROPHES = "'’‘ʼ"
_HYPHENS = "-‐‑–"
# Scripts written without spaces between words: CJK punctuation, kana, Han, Hangul, Thai.
_UNSPACED = "\u0e00-\u0e7f\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_UNSPACED_CHAR = re.compile(f"[{_UNSPACED}]")
# A letter or digit of a script written with spaces: what a word boundary is made of.
_SPACED_WORD = rf"[^\W{_UNSPACED}]"
_SEPARATOR = r"(?:\s*-\s*|\s+)"  # in flattened text, where every hyphen is "-"
# A word boundary, where a name is not part of a host name or an e-mail address either
# ("foo@yahoo.no", "gossamer-threads.com", "X.509"); "www.upi.com" names UPI.
_BEFORE_SPACED = rf"(?<!{_SPACED_WORD})(?<![^\W_]-)(?<!@)"
_AFTER_SPACED = rf"(?!{_SPACED_WORD})(?![.@][^\W_])"

# What comes before a name in an outlet context ("told Time", "according to “Mint”").
_CONTEXT_BEFORE = re.compile(
    r"(?i)(?<!\w)(?:told|according\s+to|reported\s+by|reporting\s+by|reports?\s+in"
    r"|wrote\s+(?:in|for)|writes?\s+(?:in|for)|writing\s+(?:in|for)|interview\s+with"
    r"|interviewed\s+by|published\s+(?:by|in)|quoted\s+(?:by|in)|cited\s+(?:by|in)"
    r"|(?:article|story|op-ed|editorial|column|piece|cover\s+story)\s+in|appeared\s+in"
    r"|(?:spoke|speaking|talking|talked)\s+(?:to|with)|subscribes?\s+to|on|via|reads?|reading"
    r"|(?:asked|reported|interviewed|quoted|cited|published)\s+by"
    r"|(?:co-?)?founders?\s+of|publisher\s+of|editor-in-chief\s+(?:of|at)"
    r"|(?:reporter|correspondent|editor|journalist|columnist|writer)s?\s+(?:for|at|of))"
    r"\s+(?:the\s+)?[\"“‘«]?$"
)
# What comes after a name in an outlet context ("Time magazine", "Mint reported").
_CONTEXT_AFTER = re.compile(
    r"[\"”’»]?(?:['’]s?)?(?:\s+(?:magazine|newspaper|newsletter|podcast|website"
    r"|news\s+(?:site|website|outlet|agency|service)"
    r"|(?:first\s+|has\s+|had\s+)?(?:reported|reports|revealed|learned)|reporting"
    r"|said|says|wrote|writes|published|quoted|cited|noted|interviewed|reporters?"
    r"|correspondents?|editors?|journalists?|columnists?|report|article|story|investigation)"
    # an apposition that says what it is: "Mint, the Indian business paper"
    r"|,\s+(?:an?|the)\s+(?:[\w-]+\s+){0,3}(?:magazine|newspaper|newsletter|paper|daily"
    r"|weekly|broadcaster|website|outlet|news\s+(?:site|website|outlet|agency|service)))"
    r"(?!\w)",
    re.IGNORECASE,
)

# Words that make a capitalised phrase an outlet's name, not a person's or a body's.
_OUTLET_WORDS = (
    "news|times|post|daily|journal|herald|tribune|gazette|press|agency|radio|tv|television"
    "|magazine|review|mail|star|sun|observer|guardian|telegraph|chronicle|standard|express"
    "|monitor|network|media|broadcasting|broadcaster|channel|weekly|online|wire|digest"
    "|insider|today|ilbo|shimbun|sinmun|zeitung|gazeta|gazzetta|diario|diário|jornal"
    "|corriere|courier|nachrichten|nouvelles|noticias|notícias"
)
_CAPITALISED = r"[A-ZÀ-ÖØ-Þ][\w&.'’-]*"
_CONNECTOR = r"(?:of|the|and|de|del|di|du|la|le|el|al|am|für|&)"
_PHRASE = rf"{_CAPITALISED}(?:[ \t]+(?:{_CONNECTOR}[ \t]+)?{_CAPITALISED}){{0,5}}"
_QUOTED = r"[\"“‘«][^\"“”‘’«»\n]{2,60}[\"”’»]"
_SOURCE = rf"(?P<source>{_QUOTED}|{_PHRASE})"
_UNRESOLVED = re.compile(
    rf"(?<!\w)(?:(?i:reported\s+by|according\s+to|told|wrote\s+(?:in|for)|writing\s+in"
    r"|an?\s+(?:report|article|story|interview)\s+(?:in|with)|según|de\s+acuerdo\s+con"
    rf"|informó|publicó)\s+(?:the\s+)?{_SOURCE}"
    # named as an outlet by the words before it: the newspaper X, el diario mexicano X
    r"|(?i:the\s+(?:newspaper|magazine|news\s+agency|news\s+site|broadcaster)"
    r"|(?:el|un)\s+(?:diario|periódico|semanario|portal)|la\s+(?:agencia|revista|cadena))"
    rf"\s+(?:[a-zé]+\s+)?{_SOURCE.replace('source', 'marked')}"
    rf"|{_SOURCE.replace('source', 'reporter')}"
    r"\s+(?:(?:first|has|had)\s+)?reported(?!\w))"
    # Chinese: 据《环球邮报》报道, 据共同社报道, 《朝日新闻》报道称
    r"|(?:据|據|根据|根據)\s*(?:《(?P<zh_marked>[^》\n]{1,30})》"
    r"|(?P<zh>[^\s，。、《》「」“”]{1,12}?(?:报|報|社|网|網|台|新闻|新聞|周刊|週刊|杂志|雜誌)))"
    r"\s*(?:的)?(?:报道|報導|报导|報道|消息|称|稱)"
    r"|《(?P<zh_title>[^》\n]{1,30})》\s*(?:报道|報導|报导|報道|引述|援引)"
    # Russian: сообщает газета «Ведомости», «Фонтанка» пишет
    r"|(?:сообщает|сообщила?|сообщило|пишет|передает|передаёт|по\s+данным|рассказала?)"
    r"\s+(?:газета|газеты|издание|издания|агентство|агентства|телеканал|телеканала|журнал"
    r"|журнала|сайт|радиостанция)?\s*«(?P<ru>[^»\n]{1,40})»"
    r"|«(?P<ru_after>[^»\n]{1,40})»\s+(?:сообщает|сообщила?|сообщило|пишет|передает|передаёт)"
)


def fold(name: str) -> str:
    """A name as compared between outlets and looked up: lowercase, no accents on Latin
    letters, one kind of apostrophe, hyphens and runs of whitespace as one space."""
    return " ".join(flatten(name).replace("-", " ").split())


def flatten(text: str) -> str:
    """``text`` lowercased, without accents on Latin letters, with one apostrophe and one
    hyphen: character for character, so offsets into it are offsets into ``text``."""
    return text.translate(_FLAT)


def _fold_case(name: str) -> str:
    """A name matched only as written, compared keeping its case and accents (French
    "Libération" is not English "Liberation"): one apostrophe, hyphens as spaces."""
    return " ".join(name.translate(_MARKS).replace("-", " ").split())


def _base_letter(char: str) -> str:
    """The Latin letter without its accent (``é`` -> ``e``); any other character as it is."""
    if "\u00c0" <= char <= "\u024f":
        return unicodedata.normalize("NFKD", char)[0]
    return char


class _FlatTable(dict[int, str]):
    """The character map of :func:`flatten`, filled in as characters are met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        lower = char.lower()
        flat = _base_letter(lower if len(lower) == 1 else char)
        self[code] = flat
        return flat


_MARKS = str.maketrans({**dict.fromkeys(_APOSTROPHES, "'"), **dict.fromkeys(_HYPHENS, "-")})
_FLAT = _FlatTable({code: mark for code, mark in _MARKS.items() if isinstance(mark, str)})


@dataclass
class _Entry:
    key: str  # the outlet's key
    any_case: bool  # some name of the outlet folds to this one and matches in any case
    forms: dict[str, NameKind]  # otherwise: each form as written (case kept), its kind


class NameMatcher:
    """Every name of every outlet, found in a text in one pass.

    ``names`` gives, for each outlet key, its names and their kinds; a folded name given
    twice keeps its first outlet (the registry makes names unique before this).
    """

    def __init__(self, names: Iterable[tuple[str, str, NameKind]]) -> None:
        self._entries: dict[str, _Entry] = {}
        for key, name, kind in names:
            folded = fold(name)
            if not folded:
                continue
            entry = self._entries.setdefault(folded, _Entry(key, False, {}))
            if entry.key != key:
                continue
            if kind == "any":
                self._entries[folded] = _Entry(key, True, {})
            elif not entry.any_case:
                # one form given twice: the more permissive kind wins
                form = _fold_case(name)
                if _KIND_RANK[kind] > _KIND_RANK[entry.forms.get(form, "context")]:
                    entry.forms[form] = kind
                entry.forms.setdefault(form, kind)
        self._patterns = _compile(self._entries)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, outlet key)`` of each name in ``text``, in order, never overlapping.

        Where names overlap, the longest wins ("the Daily Telegraph in Sydney" is the
        Sydney paper, not "the Daily Telegraph" followed by words); a name that does not
        count where it stands (wrong case, no outlet context) hides no other.
        """
        flat = flatten(text)
        candidates = []
        for pattern in self._patterns:
            position = 0
            while (match := pattern.search(flat, position)) is not None:
                start, end = match.span()
                entry = self._entries.get(fold(match.group()))
                if entry is not None and self._counts(entry, text, start, end):
                    candidates.append((start, end, entry.key))
                position = start + 1
        candidates.sort(key=lambda c: (-len(fold(flat[c[0] : c[1]])), c[0]))
        taken: list[tuple[int, int, str]] = []  # by start, never overlapping
        for candidate in candidates:
            i = bisect.bisect(taken, candidate[0], key=lambda t: t[0])
            if (i and taken[i - 1][1] > candidate[0]) or (
                i < len(taken) and taken[i][0] < candidate[1]
            ):
                continue
            taken.insert(i, candidate)
        return taken

    @staticmethod
    def _counts(entry: _Entry, text: str, start: int, end: int) -> bool:
        if entry.any_case:
            return True
        kind = entry.forms.get(_fold_case(text[start:end]))
        if kind is None:
            return False
        return kind == "exact" or (
            _CONTEXT_BEFORE.search(text, max(0, start - 40), start) is not None
            or _CONTEXT_AFTER.match(text, end) is not None
        )


def unresolved_names(text: str, resolved: Iterable[tuple[int, int]]) -> Iterator[tuple[int, str]]:
    """``(offset, name)`` of the sources that ``text`` cites by a phrase ("according to X",
    "X reported", 据X报道, сообщает «X»), where X overlaps none of the ``resolved`` spans.

    An English X must look like an outlet: quoted, or a phrase of capitalised words one
    of which is an outlet word (News, Times, Post, Zeitung, Ilbo...), or a domain name.
    """
    spans = sorted(resolved)
    for match in _UNRESOLVED.finditer(text):  # groups: one per way of naming
        group = next(g for g in match.groupdict() if match.group(g) is not None)
        start, end = match.span(group)
        name = match.group(group).strip('"“”‘’«» ')
        if group in ("source", "reporter") and not _looks_like_outlet(match.group(group)):
            continue
        if not any(s < end and start < e for s, e in spans):
            yield start, name


def _looks_like_outlet(phrase: str) -> bool:
    if phrase[0] in '"“‘«' or re.search(r"\w\.(?:com|org|net|co|io|news)\b", phrase):
        return True
    words = re.findall(r"[\w’']+", phrase)
    return any(re.fullmatch(_OUTLET_WORDS, word.lower()) for word in words)


def _compile(entries: dict[str, _Entry]) -> list[re.Pattern[str]]:
    """Four patterns for all the folded names, a trie each, by the script they begin and
    end in: a word boundary is asserted only at an end in a spaced script, and only once
    per pattern (the regex engine backtracks to a shorter name when it fails)."""
    tries: dict[tuple[bool, bool], dict[str, dict]] = {}
    for name in entries:
        shape = (bool(_UNSPACED_CHAR.match(name)), bool(_UNSPACED_CHAR.match(name[-1])))
        node = tries.setdefault(shape, {})
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}
    patterns = []
    for (unspaced_start, unspaced_end), trie in tries.items():
        before = "" if unspaced_start else _BEFORE_SPACED
        after = "" if unspaced_end else _AFTER_SPACED
        patterns.append(re.compile(f"{before}{_trie(trie)}{after}"))
    return patterns


def _trie(node: dict[str, dict]) -> str:
    """The regex of a trie node: its children, then the end of a name (longest first)."""
    alternatives = [_char(char) + _trie(child) for char, child in node.items() if char]
    if "" in node:
        alternatives.append("")
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


def _char(char: str) -> str:
    """A character of a folded name, in flattened text (:func:`flatten`)."""
    return _SEPARATOR if char == " " else re.escape(char)
