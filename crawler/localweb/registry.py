"""The outlet registry of a running local cited web, in the schema of ``seeds/outlets.toml``.

One ``[outlets.localweb-<key>]`` table per outlet, its domain being its loopback address;
outlets whose pages script builds are flagged ``browser = true``, as the shipped ones are.
An outlet's first start URL is the page the seed cites on it, so a seed that only names
the outlet (the plain-text seed) gets the same citation; its home page comes next.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from crawler.localweb import content


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
    return "\n".join(lines) + "\n"


def _string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_string(value) for value in values) + "]"
