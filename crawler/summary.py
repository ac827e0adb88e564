"""What a crawl reports when it ends, and the error of one that cannot start or finish."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crawler.failures import reason
from pipelines.items import FailureItem
from storage import crawl_log_key
from storage.errors import ScrubwatchError
from storage.warctrim import Trimmed

#: hosts named on a summary line; the rest are counted
HOSTS_SHOWN = 5


class CrawlError(ScrubwatchError):
    """A crawl that cannot start or did not finish; the message says why and what to do."""


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:HOSTS_SHOWN])
    return shown if len(names) <= HOSTS_SHOWN else f"{shown} and {len(names) - HOSTS_SHOWN} more"


def no_seed_captured(seeds: Iterable[str], failures: list[FailureItem]) -> str:
    """One line naming each seed and why nothing of it was captured: a URL seed by its
    own failure, a file seed by the failures of the pages it cites."""
    parts = []
    for seed in seeds:
        if seed.startswith(("http://", "https://")):
            failed = next((f for f in failures if f.role == "seed" and f.url == seed), None)
            why = reason(failed.kind, failed.error) if failed else "not captured"
        else:
            kinds = Counter(f.kind for f in failures if f.role == "cited" and f.cited_by == seed)
            n = sum(kinds.values())
            why = (
                f"{n} cited page{'s' * (n != 1)} failed: "
                + ", ".join(f"{kind}: {count}" for kind, count in kinds.most_common())
                if n
                else "no cited page captured"
            )
        parts.append(f"{seed} ({why})")
    return "no seed captured: " + ", ".join(parts)


@dataclass
class CrawlSummary:
    crawl_id: str
    store: str
    stats: dict[str, Any]
    error: str | None = None
    statuses: dict[int, int] = field(default_factory=dict)
    worker: str | None = None  # this process, in a crawl shared over Redis
    mended: list[Trimmed] = field(default_factory=list)  # WARC files a resume mended
    dead_hosts: dict[str, str] = field(default_factory=dict)  # host -> why, at the end
    slowed: dict[str, str] = field(default_factory=dict)  # host -> why and how much
    nothing_captured: str | None = None  # every seed failed: the line that says so

    def lines(self) -> list[str]:
        s = self.stats
        failed = {k.split("/")[-1]: v for k, v in s.items() if k.startswith("crawl/failed/")}
        out = [
            f"crawl {self.crawl_id} into {self.store}",
            f"  seeds: {s.get('crawl/items/seed', 0)} pages  cited: "
            f"{s.get('crawl/items/cited', 0)}  linked: {s.get('crawl/items/linked', 0)}  "
            f"requisites: {s.get('crawl/items/requisite', 0)}",
            "  responses: "
            + (", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items())) or "none"),
            f"  WARC: {s.get('warc/files', 0)} files, {s.get('warc/bytes', 0):,} bytes, "
            f"{s.get('warc/records/response', 0)} responses, "
            f"{s.get('warc/records/revisit', 0)} revisits",
            "  failures: "
            + (", ".join(f"{k}: {v}" for k, v in sorted(failed.items())) or "none")
            + f" (see {crawl_log_key(self.crawl_id, self.worker)})",
        ]
        if self.dead_hosts:
            out.append(
                f"  dead hosts: {len(self.dead_hosts)}, "
                f"{s.get('deadhost/skipped', 0)} requests not sent: "
                + _some([f"{host} ({why})" for host, why in self.dead_hosts.items()])
            )
        if self.slowed:
            out.append(
                f"  slowed hosts: {len(self.slowed)}: "
                + _some([f"{host} ({why})" for host, why in self.slowed.items()])
            )
        if "frontier/workers" in s:
            out.append(
                f"  workers: {s['frontier/workers']}, lost: {s.get('frontier/workers_lost', 0)}"
            )
        if "resume/captured" in s:
            out.append(
                f"  resumed: {s['resume/captured']} URLs captured before, "
                f"{s.get('resume/replayed', 0)} answered from them"
            )
        for mended in self.mended:
            what = f"trimmed by {mended.cut_bytes} bytes" if mended.cut_bytes else "whole"
            what = "no whole record, set aside" if mended.damaged else what
            out.append(f"  mended: {mended.path.name}: {what}")
        if self.error:
            out.append(f"  not stored: {self.error}")
        else:
            out.append(f"  stored: {s.get('store/files', 0)} files of crawl {self.crawl_id}")
        return out
