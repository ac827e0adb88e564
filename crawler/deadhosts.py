"""Which hosts this crawl has found gone, and the error that stands for their requests.

A host is gone when it fails in a way that says nothing is there: its name does not
resolve (``dns``), nothing listens on its port (``refused``), or no answer comes in time,
not even a status line (``timeout``: a connect timeout, or a socket that accepts and
never answers). After ``threshold`` such failures in a row it is dead for the rest of the
crawl, and a later request to it fails at once with :class:`DeadHostError`. Any answer
from it (a status line, whatever the status) clears its count. A name that does not
resolve is dead on every port; a refused or silent address is dead on its own port only,
so that one service of a machine does not condemn another.

Resets, data loss and 5xx answers are not counted: they are transient, and Scrapy retries
them. Whatever made a host dead, its URLs stay ``retryable`` in the crawl log: a later
crawl tries them again.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.exceptions import IgnoreRequest

#: failure kinds (:mod:`crawler.failures`) that say a host is gone
GONE_KINDS = frozenset({"dns", "refused", "timeout"})


@dataclass
class DeadHost:
    """Why a host is taken for gone: the kind and message of its last failure."""

    host: str
    kind: str
    message: str
    failures: int
    skipped: int = 0  # requests failed at once since


class DeadHostError(IgnoreRequest):
    """A request to a host this crawl found gone, failed without being sent."""

    def __init__(self, dead: DeadHost) -> None:
        super().__init__(
            f"not sent: {dead.host} failed {dead.failures} times in a row "
            f"({dead.kind}: {dead.message})"
        )
        self.host = dead.host
        self.kind = dead.kind


def host_keys(hostname: str, port: int) -> tuple[str, str]:
    """The keys of a request's host: its name (what DNS failures make dead) and
    ``name:port`` (what refused and silent connections make dead)."""
    return hostname, f"{hostname}:{port}"


class DeadHosts:
    """Counts gone-kind failures per host; a host past ``threshold`` in a row is dead."""

    def __init__(self, threshold: int) -> None:
        if threshold < 1:
            raise ValueError(f"a host is dead after 1 failure or more, not {threshold}")
        self.threshold = threshold
        self.counts: dict[str, int] = {}
        self.dead: dict[str, DeadHost] = {}

    def failed(self, hostname: str, port: int, kind: str, message: str) -> DeadHost | None:
        """Count a failure; the host's :class:`DeadHost` when this one makes it dead."""
        if kind not in GONE_KINDS:
            return None
        name, address = host_keys(hostname, port)
        key = name if kind == "dns" else address
        if key in self.dead:
            return None
        count = self.counts.get(key, 0) + 1
        if count < self.threshold:
            self.counts[key] = count
            return None
        self.counts.pop(key, None)
        dead = self.dead[key] = DeadHost(key, kind, message, count)
        return dead

    def answered(self, hostname: str, port: int) -> None:
        """The host answered: its count starts again, and it is alive if it was dead."""
        for key in host_keys(hostname, port):
            self.counts.pop(key, None)
            self.dead.pop(key, None)

    def find(self, hostname: str, port: int) -> DeadHost | None:
        """The dead host a request to ``hostname:port`` would go to, or None."""
        if not self.dead:
            return None
        name, address = host_keys(hostname, port)
        return self.dead.get(name) or self.dead.get(address)
