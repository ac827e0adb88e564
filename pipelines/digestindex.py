"""Which record of this crawl holds a payload in full: the WARC writer's dedup lookup.

Before writing a response whose payload it has not met in an earlier crawl, the
writer *claims* the payload's digest with the record it is about to write (its id and
WARC-Date decided beforehand). The first claim wins and that record is written in
full; every later claim gets the winner back and becomes a revisit referring to it.

``MemoryDigestIndex`` serves a crawl run by one process. ``RedisDigestIndex`` serves a
crawl shared by several workers: a claim is one ``HSETNX`` on the crawl's ``digests``
hash (see :mod:`storage.crawlgroup`), atomic in Redis, so exactly one worker writes
each payload in full however many fetch it at the same moment.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Protocol

from pipelines.warcrecords import Original

if TYPE_CHECKING:
    import redis


class DigestIndex(Protocol):
    def claim(self, digest: str, original: Original) -> Original | None:
        """Record ``original`` as the full record of ``digest`` unless one is recorded.

        Returns None when ``original`` won (write it in full), else the record that
        holds the payload (write a revisit referring to it).
        """

    def release(self, digest: str, original: Original) -> None:
        """Drop the claim of ``original`` (its record could not be written), if still its."""


class MemoryDigestIndex:
    """The digests of a crawl run by one process, in memory."""

    def __init__(self) -> None:
        self._known: dict[str, Original] = {}
        self._lock = threading.Lock()

    def claim(self, digest: str, original: Original) -> Original | None:
        with self._lock:
            known = self._known.setdefault(digest, original)
        return None if known is original else known

    def release(self, digest: str, original: Original) -> None:
        with self._lock:
            if self._known.get(digest) is original:
                del self._known[digest]


class RedisDigestIndex:
    """The digests of a shared crawl, in a Redis hash: digest -> ``{uri, date, record_id}``."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client = client
        self.key = key

    def claim(self, digest: str, original: Original) -> Original | None:
        if self.client.hsetnx(self.key, digest, _json(original)):
            return None
        known = json.loads(str(self.client.hget(self.key, digest)))
        return Original(uri=known["uri"], date=known["date"], record_id=known["record_id"])

    def release(self, digest: str, original: Original) -> None:
        # Only the claim's winner releases it, and no one else writes a claimed digest.
        # A worker that met the claim meanwhile has written a revisit to a record
        # that does not exist: a window as wide as one failed write.
        if str(self.client.hget(self.key, digest)) == _json(original):
            self.client.hdel(self.key, digest)


def _json(original: Original) -> str:
    return json.dumps({"uri": original.uri, "date": original.date, "record_id": original.record_id})
