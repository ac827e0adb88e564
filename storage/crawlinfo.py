"""``crawl-info.json``: a crawl's seeds, store, times, finish reason and Scrapy counts.

The crawler writes it into the staging folder when its engine stops
(:func:`storage.publish.write_info`); publishing reads it for the manifest, a resume
for whether the crawl finished, ``scrubwatch crawls`` for a crawl without a manifest.
In a crawl shared over Redis each worker writes its own share
(``crawl-info.<worker>.json``, with ``worker`` and ``role``), and the coordinator stores
their merge (:func:`storage.sharedcrawl.merged_info`, with ``workers``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

#: what a process does in a crawl shared over Redis
Role = Literal["coordinator", "worker"]
ROLES: tuple[Role, ...] = get_args(Role)

_ALWAYS = ("crawl_id", "store", "seeds", "extraction", "started", "finished", "finish_reason")
_OPTIONAL = ("worker", "role", "workers_lost", "workers")


def _check(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> None:
    value = data.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise ValueError(f"{name} has the wrong type: {value!r}")


def _check_items(data: dict[str, Any], name: str, kind: type) -> None:
    value = data.get(name)
    if value is None:
        return
    items = value.values() if isinstance(value, dict) else value
    if not isinstance(value, (list, dict)) or not all(isinstance(v, kind) for v in items):
        raise ValueError(f"{name} has the wrong type: {value!r}")


@dataclass
class CrawlInfo:
    """One ``crawl-info.json``; times are Scrapy's, as text (``2026-01-31 12:00:00+00:00``).

    ``counts`` are Scrapy's integer stats; ``extraction`` says whether text was extracted
    and in trafilatura's fast mode. ``worker``, ``role`` and ``workers_lost`` belong to one
    process's share of a shared crawl, ``workers`` to their merge. ``extra`` keeps keys
    this version does not know, so that they are written back.
    """

    crawl_id: str | None = None
    store: str | None = None
    seeds: list[str] = field(default_factory=list)
    extraction: dict[str, bool] = field(default_factory=dict)
    started: str | None = None
    finished: str | None = None
    finish_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    worker: str | None = None
    role: Role | None = None
    workers_lost: list[str] | None = None
    workers: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {**self.extra, **{name: getattr(self, name) for name in _ALWAYS}}
        data["counts"] = self.counts
        for name in _OPTIONAL:
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    def to_json(self) -> str:
        """The file's text: indented, keys sorted, one line feed at the end."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: object) -> CrawlInfo:
        """The crawl-info in ``data``; ValueError naming a field of the wrong type.

        Every field may be missing (a crawl-info of an earlier version, or a test's).
        """
        if not isinstance(data, dict):
            raise ValueError(f"not a JSON object: {type(data).__name__}")
        for name in ("crawl_id", "store", "started", "finished", "finish_reason", "worker"):
            _check(data, name, str)
        for name in ("seeds", "workers_lost", "workers"):
            _check_items(data, name, str)
        _check_items(data, "extraction", bool)
        _check(data, "counts", dict)
        if data.get("role") is not None and data["role"] not in ROLES:
            raise ValueError(f"role is {data['role']!r}, not one of {', '.join(ROLES)}")
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known and v is not None}
        # Scrapy's counts are integers; a float or a flag is not a count (it was never written).
        values["counts"] = {
            str(k): v
            for k, v in (data.get("counts") or {}).items()
            if isinstance(v, int) and not isinstance(v, bool)
        }
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    @classmethod
    def from_json(cls, text: str | bytes) -> CrawlInfo:
        """The crawl-info in a file's text; ValueError if it is not JSON or not a crawl-info."""
        return cls.from_dict(json.loads(text))
