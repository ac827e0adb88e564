"""The search engines of the registry: how to ask each for a query, and how to read its answer.

``[engines.<key>]`` tables sit in the registry files beside ``[outlets.<key>]`` (the
``OUTLETS_REGISTRY`` and ``EXTRA_OUTLETS`` settings list them; the caller passes the
paths), layered the same way: a later file adds engines, and for a key already defined
replaces the fields it gives (a ``rules`` table whole). Each engine has a URL template
(``{query}`` the query URL-encoded in the engine's ``charset``; ``{page}`` the page number
from 1; ``{offset}`` the results before the page, ``page_size`` a page; ``{start}`` that
plus one), ``browser`` (its result pages are built by script: the crawl renders them),
``interval`` (seconds between two queries to it, default one a minute) and ``rules``,
the selectors that read its result pages (:class:`pipelines.searchparse.SearchRules`).
``seeds/README.md`` describes the format.
"""

from __future__ import annotations

import codecs
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from crawler.outlets import SeedError, read_registry_toml
from pipelines.searchparse import SearchRules, check_pattern, check_selector

DEFAULT_INTERVAL = 60.0
_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
PLACEHOLDERS = ("query", "page", "offset", "start")
_FIELDS = {
    "name": "a non-empty string",
    "url": "an http(s) URL template with {query}",
    "charset": "the name of a character encoding",
    "browser": "true or false",
    "page_size": "a whole number, 1 or more",
    "interval": "a number of seconds, 0 or more",
    "rules": "a table of parsing rules",
}
_RULE_PATTERNS = ("filtered", "no_results", "captcha", "login")
_RULE_SELECTORS = tuple(
    f.name for f in fields(SearchRules) if f.name not in (*_RULE_PATTERNS, "target_param")
)


@dataclass(frozen=True)
class Engine:
    """A search engine: where a query's result pages are, and how to read them."""

    key: str
    name: str
    url: str
    charset: str = "utf-8"
    browser: bool = False
    page_size: int = 10
    interval: float = DEFAULT_INTERVAL
    rules: SearchRules = field(default_factory=SearchRules)

    def page_url(self, query: str, page: int = 1) -> str:
        """The URL of page ``page`` (from 1) of the results for ``query``.

        ValueError if the query cannot be written in the engine's charset.
        """
        try:
            encoded = quote_plus(query, encoding=self.charset, errors="strict")
        except UnicodeEncodeError:
            raise ValueError(
                f"query {query!r} cannot be written in engine {self.key}'s charset {self.charset}"
            ) from None
        offset = (page - 1) * self.page_size
        return self.url.format(query=encoded, page=page, offset=offset, start=offset + 1)

    def rank_offset(self, page: int) -> int:
        return (page - 1) * self.page_size

    @property
    def paged(self) -> bool:
        """Whether the URL template names a page: else only the first page is asked for."""
        return any("{" + p + "}" in self.url for p in PLACEHOLDERS[1:])


class EngineRegistry:
    """Engines by key."""

    def __init__(self, engines: list[Engine]) -> None:
        self.engines = {engine.key: engine for engine in engines}

    @classmethod
    def load(cls, *paths: Path | str) -> EngineRegistry:
        """Read the ``[engines.<key>]`` tables of registry files in order; later files
        take precedence. A bad entry raises :class:`SeedError` naming file, key and field."""
        merged: dict[str, dict[str, Any]] = {}
        origin: dict[str, Path] = {}
        for path in map(Path, paths):
            for key, entry in _read_engines(path).items():
                merged.setdefault(key, {}).update(entry)
                origin[key] = path
        return cls([_build(origin[key], key, entry) for key, entry in merged.items()])

    def __iter__(self) -> Iterator[Engine]:
        return iter(self.engines.values())

    def __len__(self) -> int:
        return len(self.engines)

    def get(self, key: str) -> Engine | None:
        return self.engines.get(key)


def _read_engines(path: Path) -> dict[str, dict[str, Any]]:
    where = f"outlet registry {path}"
    data = read_registry_toml(path)
    engines = data.get("engines", {})
    if not isinstance(engines, dict):
        raise SeedError(f"{where}: engines: expected [engines.<key>] tables")
    for key, entry in engines.items():
        if not _KEY.fullmatch(key) or not isinstance(entry, dict):
            raise SeedError(f"{where}: engines.{key}: must be a table with a lowercase key")
        for name in entry:
            if name not in _FIELDS:
                raise SeedError(f"{where}: engines.{key}.{name}: unknown field")
    return engines


def _build(path: Path, key: str, entry: dict[str, Any]) -> Engine:
    where = f"outlet registry {path}: engines.{key}"

    def fail(name: str, detail: str = "") -> SeedError:
        return SeedError(f"{where}.{name}: must be {_FIELDS[name]}{detail}")

    name, url = entry.get("name"), entry.get("url")
    if not isinstance(name, str) or not name.strip():
        raise fail("name")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise fail("url")
    try:
        used = {f for _, f, _, _ in string.Formatter().parse(url) if f is not None}
    except ValueError as exc:
        raise fail("url", f" ({exc})") from None
    if "query" not in used or used - set(PLACEHOLDERS):
        raise fail("url", f"; placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    charset = entry.get("charset", "utf-8")
    try:
        codecs.lookup(charset)
    except (LookupError, TypeError):
        raise fail("charset") from None
    browser = entry.get("browser", False)
    if not isinstance(browser, bool):
        raise fail("browser")
    page_size = entry.get("page_size", 10)
    if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
        raise fail("page_size")
    interval = entry.get("interval", DEFAULT_INTERVAL)
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 0:
        raise fail("interval")
    return Engine(
        key=key,
        name=name.strip(),
        url=url,
        charset=codecs.lookup(charset).name,
        browser=browser,
        page_size=page_size,
        interval=float(interval),
        rules=_rules(where, entry.get("rules", {})),
    )


def _rules(where: str, table: Any) -> SearchRules:
    if not isinstance(table, dict):
        raise SeedError(f"{where}.rules: must be {_FIELDS['rules']}")
    values: dict[str, Any] = {}
    for name, value in table.items():
        here = f"{where}.rules.{name}"
        if name == "target_param":
            if not isinstance(value, str):
                raise SeedError(f"{here}: must be a string")
            values[name] = value.strip()
            continue
        if name not in (*_RULE_SELECTORS, *_RULE_PATTERNS):
            known = ", ".join([*_RULE_SELECTORS, "target_param", *_RULE_PATTERNS])
            raise SeedError(f"{here}: unknown rule; rules are {known}")
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise SeedError(f"{here}: must be a non-empty string or a list of them")
        check = check_pattern if name in _RULE_PATTERNS else check_selector
        try:
            for item in items:
                check(item)
        except ValueError as exc:
            raise SeedError(f"{here}: {exc}") from None
        values[name] = tuple(item.strip() for item in items)
    return SearchRules(**values)
