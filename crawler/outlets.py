"""The outlet registry: which news outlets and platforms exist, by name and by domain.

The registry is read from TOML files (``seeds/outlets.toml`` and any extra files, as the
``OUTLETS_REGISTRY`` and ``EXTRA_OUTLETS`` settings list them; the caller passes the
paths). It answers three questions: which outlet a URL belongs to (by registered domain,
:func:`crawler.scope.registered_domain`), which outlets a text names (whole words, the
longest name winning, names that are common words only in an outlet context:
:mod:`crawler.outletnames`), and which sources a text cites that no outlet covers. An
outlet flagged ``browser = true`` builds its pages by script (image search, posts,
video), so a crawl renders them in a browser.
``seeds/README.md`` describes the file format.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.outletnames import NameKind, NameMatcher, fold, unresolved_names
from crawler.scope import registered_domain
from storage.errors import BadInput

_LIST_FIELDS = ("aliases", "case_sensitive_aliases", "context_aliases", "domains", "start_urls")
_KINDS = {
    "name": "a non-empty string",
    "browser": "true or false",
    **{field: "a list of non-empty strings" for field in _LIST_FIELDS},
}
_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n\s*|\n[ \t]*(?=[•◦▪*–-]\s)")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")
# Words whose full stop does not end a sentence: titles, months, initials (U.S.).
_ABBREVIATION = re.compile(
    r"(?i)mrs?|ms|dr|prof|st|[js]r|gen|sen|rep|gov|lt|col|capt|sgt|no|vs|etc|inc|ltd|co|corp"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|mt|ft|approx|(?:[a-z]\.)*[a-z]"
)


class SeedError(BadInput):
    """Bad seed input (a seed file or URL, or the outlet registry), as a one-line message."""


@dataclass(frozen=True)
class Outlet:
    """A news outlet or platform that seeds cite."""

    key: str
    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    start_urls: tuple[str, ...] = ()
    case_sensitive_aliases: tuple[str, ...] = ()
    browser: bool = False  # its pages are built by script: a crawl renders them in a browser
    context_aliases: tuple[str, ...] = ()  # common words: named only in an outlet context

    def names(self) -> Iterator[tuple[str, NameKind]]:
        """Every name with how it matches: exactly as written, only in an outlet context,
        or in any case. Listing the ``name`` among the case-sensitive or context aliases
        gives it that kind."""
        special: dict[str, NameKind] = {
            **dict.fromkeys(self.case_sensitive_aliases, "exact"),
            **dict.fromkeys(self.context_aliases, "context"),
        }
        for name in (self.name, *self.aliases):
            if name not in special:
                yield name, "any"
        for name, kind in special.items():
            yield name, kind


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def sentence_finder(text: str) -> Callable[[int], str]:
    """A function giving the sentence of ``text`` around an offset, whitespace normalised."""
    spans = _sentence_spans(text) or [(0, len(text))]
    starts = [start for start, _ in spans]

    def sentence_at(offset: int) -> str:
        start, end = spans[max(bisect.bisect_right(starts, offset) - 1, 0)]
        return normalise_space(text[start:end])

    return sentence_at


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of a plain text, in order.

    Paragraphs (blank lines) and list items end a sentence; a single newline does not,
    so hard-wrapped text keeps its sentences; abbreviations (``Dr.``, ``Feb.``,
    ``U.S.``) and punctuation followed by a lowercase word do not end one either.
    """
    spans: list[tuple[int, int]] = []
    block_start = 0
    blocks = [(m.start(), m.end()) for m in _BLOCK_BREAK.finditer(text)]
    for block_end, next_block in [*blocks, (len(text), len(text))]:
        start = block_start
        for end in _SENTENCE_END.finditer(text, block_start, block_end):
            words = text[max(start, end.start() - 40) : end.start()].split()
            word = words[-1].lstrip("\"'“‘(") if words else ""
            abbreviated = end.group()[:2].strip() == "." and _ABBREVIATION.fullmatch(word)
            if not (abbreviated or text[end.end() : end.end() + 1].islower()):
                spans.append((start, end.end()))
                start = end.end()
        spans.append((start, block_end))
        block_start = next_block
    return [(s, e) for s, e in spans if text[s:e].strip()]


class OutletRegistry:
    """Outlets by key, looked up by the domain of a URL or by the names in a text.

    Outlets come in order of precedence: where two claim a domain, the later one owns
    it; where two share a name, the earlier one is no longer found by any of its names
    (not only the shared one: its longer names would beat the later outlet's shorter).
    """

    def __init__(self, outlets: Iterable[Outlet]) -> None:
        self.outlets: dict[str, Outlet] = {outlet.key: outlet for outlet in outlets}
        self._by_domain = {d: o for o in self.outlets.values() for d in o.domains}
        named: list[Outlet] = []
        claimed: set[str] = set()
        for outlet in reversed(self.outlets.values()):
            names = _names(outlet)
            if not names & claimed:
                named.insert(0, outlet)
            claimed |= names
        self._claimed = claimed
        self._named = named

    @functools.cached_property
    def _matcher(self) -> NameMatcher:
        # Made when a text is first searched for names (0.2 s for the shipped registry):
        # a crawl of a list of URLs never does.
        return NameMatcher(
            (outlet.key, name, kind) for outlet in self._named for name, kind in outlet.names()
        )

    @classmethod
    def load(cls, *paths: Path | str) -> OutletRegistry:
        """Read registry files in order; later files take precedence.

        A later file adds outlets, or stands in for an earlier one under a key of its own
        by claiming its names and giving other domains (how the local test web points
        the shipped outlets at loopback addresses); for a key already defined it
        replaces the fields it gives and keeps the others. Invalid TOML, a bad entry, or
        a name or domain claimed twice in one file raises :class:`SeedError` naming the
        file, the outlet key and the field.
        """
        files = [Path(path) for path in paths]
        if (identities := file_identities(files)) is not None:
            return _load_unchanged(identities)
        return cls._load(files)

    @classmethod
    def _load(cls, files: list[Path]) -> OutletRegistry:
        fields: dict[str, dict[str, Any]] = {}
        origin: dict[str, int] = {}
        for index, path in enumerate(files):
            for key, entry in _read_registry_file(path).items():
                fields.setdefault(key, {}).update(entry)
                origin[key] = index
        keys = sorted(fields, key=origin.__getitem__)  # stable: file order, then key order
        outlets = [_build_outlet(files[origin[key]], key, fields[key]) for key in keys]
        owners: dict[tuple[int, str, str], str] = {}
        for outlet in outlets:
            claims = [("domains", d) for d in outlet.domains]
            claims += [("aliases", name) for name in sorted(_names(outlet))]
            for field, value in claims:
                owner = owners.setdefault((origin[outlet.key], field, value), outlet.key)
                if owner != outlet.key:
                    raise SeedError(
                        f"outlet registry {files[origin[outlet.key]]}: outlets.{outlet.key}"
                        f".{field}: {value!r} already belongs to outlet {owner!r}"
                    )
        return cls(outlets)

    def __iter__(self) -> Iterator[Outlet]:
        return iter(self.outlets.values())

    def __len__(self) -> int:
        return len(self.outlets)

    def outlet_for_url(self, url: str) -> Outlet | None:
        """The outlet whose registered domain (or IP address) the URL is on, if any."""
        return self._by_domain.get(registered_domain(url))

    def find_named(self, text: str) -> list[tuple[Outlet, str]]:
        """Outlets named in ``text``, each with the sentence of its first mention, in order.

        Where names overlap ("The Daily Telegraph Australia" holds "Daily Telegraph"),
        the longest match wins (:class:`crawler.outletnames.NameMatcher`).
        """
        sentence_at = sentence_finder(text)
        found: dict[str, tuple[Outlet, str]] = {}
        for start, _, key in self._matcher.find(text):
            if key not in found:
                found[key] = (self.outlets[key], sentence_at(start))
        return list(found.values())

    def find_unresolved(self, text: str) -> list[tuple[str, str]]:
        """Sources ``text`` cites by a phrase ("according to X", "X reported", "told X")
        that no outlet's name covers: ``(X, sentence)``, each X once, in order."""
        resolved = [(start, end) for start, end, _ in self._matcher.find(text)]
        sentence_at = sentence_finder(text)
        found: dict[str, tuple[str, str]] = {}
        for offset, name in unresolved_names(text, resolved):
            if fold(name) not in self._claimed:
                found.setdefault(fold(name), (name, sentence_at(offset)))
        return list(found.values())


def _names(outlet: Outlet) -> set[str]:
    """The outlet's names as compared between outlets (:func:`crawler.outletnames.fold`)."""
    return {fold(name) for name, _ in outlet.names()}


FileIdentity = tuple[str, str]  # path, SHA-256 of its bytes


def file_identities(files: Iterable[Path]) -> tuple[FileIdentity, ...] | None:
    """What tells a registry file from a changed one: its path and its bytes' digest (a
    file rewritten at the same size within the file system's clock tick has the same
    modification time); None if one cannot be read (the reader then says why)."""
    try:
        return tuple((str(f.resolve()), hashlib.sha256(f.read_bytes()).hexdigest()) for f in files)
    except OSError:
        return None


# A crawl asks for the same registry files' outlets and engines in the CLI, then again in
# the spider and its add-ons: 674 outlets are 0.3 s of parsing and compiling each time.
# Errors are never kept: each load names them.
@functools.lru_cache(maxsize=8)
def _load_unchanged(files: tuple[FileIdentity, ...]) -> OutletRegistry:
    return OutletRegistry._load([Path(path) for path, _ in files])


@functools.lru_cache(maxsize=8)
def _parsed_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def read_registry_toml(path: Path) -> dict[str, Any]:
    """A registry file's TOML; SeedError, naming the file, when it cannot be read.

    The same text is parsed once: the tables returned are shared, and are only read.
    """
    where = f"outlet registry {path}"
    try:
        return _parsed_toml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeedError(f"{where}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{where}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{where}: invalid TOML ({exc})") from None


def _read_registry_file(path: Path) -> dict[str, dict[str, Any]]:
    """The outlet tables of one file, each field checked for its type."""
    where = f"outlet registry {path}"
    data = read_registry_toml(path)
    outlets = data.get("outlets", {})
    # [engines.<key>]: crawler.engines reads them
    if set(data) - {"outlets", "engines"} or not isinstance(outlets, dict):
        raise SeedError(f"{where}: expected only [outlets.<key>] tables and [engines.<key>] tables")
    for key, entry in outlets.items():
        if not _KEY.fullmatch(key) or not isinstance(entry, dict):
            raise SeedError(f"{where}: outlets.{key}: must be a table with a lowercase key")
        for field, value in entry.items():
            if field == "name":
                ok = isinstance(value, str) and bool(value.strip())
            elif field in _LIST_FIELDS:
                ok = isinstance(value, list) and all(
                    isinstance(v, str) and v.strip() for v in value
                )
            elif field == "browser":
                ok = isinstance(value, bool)
            else:
                raise SeedError(f"{where}: outlets.{key}.{field}: unknown field")
            if not ok:
                raise SeedError(f"{where}: outlets.{key}.{field}: must be {_KINDS[field]}")
    return outlets


def _build_outlet(path: Path, key: str, entry: dict[str, Any]) -> Outlet:
    """An outlet from its merged fields (``path`` gave the last), checking them together."""
    where = f"outlet registry {path}: outlets.{key}"
    if "name" not in entry:
        raise SeedError(f"{where}.name: missing")
    lists = {field: tuple(v.strip() for v in entry.get(field, [])) for field in _LIST_FIELDS}
    domains = tuple(d.lower() for d in lists["domains"])
    if not domains or not lists["start_urls"]:
        raise SeedError(f"{where}.{'start_urls' if domains else 'domains'}: must not be empty")
    for domain in domains:
        if registered_domain(domain) != domain:
            raise SeedError(f"{where}.domains: {domain!r} is not a registered domain")
    for url in lists["start_urls"]:
        if not url.startswith(("http://", "https://")) or registered_domain(url) not in domains:
            raise SeedError(f"{where}.start_urls: {url!r} is not an http(s) URL on its domains")
    return Outlet(
        key,
        entry["name"].strip(),
        lists["aliases"],
        domains,
        lists["start_urls"],
        lists["case_sensitive_aliases"],
        entry.get("browser", False),
        lists["context_aliases"],
    )
