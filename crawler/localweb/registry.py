"""The outlet registry of a running local cited web, in the schema of ``seeds/outlets.toml``.

One ``[outlets.localweb-<key>]`` table per outlet, its domain being its loopback address;
outlets whose pages script builds are flagged ``browser = true``, as the shipped ones are.
Its image search is the engine ``baidu-images`` too, read by the shipped engine's rules.
An outlet's first start URL is the page the seed cites on it, so a seed that only names
the outlet (the plain-text seed) gets the same citation; its home page comes next.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.localweb import content
from crawler.settings import OUTLETS_REGISTRY

#: the shipped engine whose rules read the local image search, and the local engine's key
ENGINE = "baidu-images"


def registry_toml(bases: dict[str, str], port: int) -> str:
    cited: dict[str, list[str]] = {}
    for key, path in content.CITED:
        cited.setdefault(key, [bases[key] + path])
    lines = [f"# Outlets of the local cited web (crawler.localweb) on port {port}."]
    for outlet in content.OUTLETS:
        base = bases[outlet.key]
        lines += [
            "",
            f"[outlets.localweb-{outlet.key}]",
            f"name = {_string(outlet.name)}",
            f"aliases = {_list(outlet.aliases)}",
            f"domains = {_list([urlsplit(base).hostname or ''])}",
            f"start_urls = {_list([*cited.get(outlet.key, []), base + '/'])}",
        ]
        if outlet.case_sensitive_aliases:
            lines.append(f"case_sensitive_aliases = {_list(outlet.case_sensitive_aliases)}")
        if outlet.browser:
            lines.append("browser = true")
    lines += _engine(bases["baidu"])
    return "\n".join(lines) + "\n"


def _engine(base: str) -> list[str]:
    """The local image search as the engine ``baidu-images``, read by the shipped rules."""
    shipped = tomllib.loads(Path(OUTLETS_REGISTRY).read_text(encoding="utf-8"))
    engine: dict[str, Any] = shipped["engines"][ENGINE]
    search = content.BAIDU_NAME_SEARCH.removesuffix(content.BAIDU_NAME_SEARCH.split("=")[-1])
    lines = [
        "",
        f"[engines.{ENGINE}]",
        f"name = {_string(engine['name'])}",
        f"url = {_string(base + search + '{query}')}",
        "browser = true",
        f"[engines.{ENGINE}.rules]",
    ]
    for name, rule in engine["rules"].items():
        lines.append(f"{name} = {_string(rule) if isinstance(rule, str) else _list(rule)}")
    return lines


def _string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_string(value) for value in values) + "]"
