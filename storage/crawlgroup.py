"""The Redis side of a crawl shared by several workers: who takes part, who is busy, what is left.

Keys, all under ``scrubwatch:<crawl id>:``::

    crawl       hash: status (running, closing), store, seeds, depth, robots, coordinator
    requests    sorted set: the shared frontier (:mod:`crawler.frontier`)
    dupefilter  set: fingerprints of every request scheduled
    digests     hash: payload digest -> the record holding it (:mod:`pipelines.digestindex`)
    workers     hash: worker -> busy, idle, publishing or published
    heartbeats  sorted set: worker -> Redis time (ms) until which it counts as alive

A worker beats from a thread every ``FRONTIER_HEARTBEAT`` seconds, moving its deadline
``FRONTIER_WORKER_TTL`` ahead; one that stops beating (killed, machine lost) is gone
once its deadline passes, so it never holds the others up for ever. Taking a request
marks its worker busy in the same step, and "is anyone still working" is one step too
(Lua scripts run atomically), so no worker is ever seen idle while it holds a request.
Times are Redis's own clock, not the workers', which may disagree.
Plain Python and redis-py; no Scrapy.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from storage.errors import ScrubwatchError

if TYPE_CHECKING:  # imported where used: a crawl without --redis does without it
    import redis

logger = logging.getLogger(__name__)

KEY_PREFIX = "scrubwatch"
RUNNING, CLOSING = "running", "closing"
BUSY, IDLE, PUBLISHING, PUBLISHED = "busy", "idle", "publishing", "published"

_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
# KEYS: crawl, workers, heartbeats; ARGV: worker, ttl ms, state, then crawl fields
_OPEN = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], now + ARGV[2], ARGV[1])
return 1"""
)
# KEYS: crawl, workers, heartbeats; ARGV: worker, ttl ms, state
_JOIN = (
    _NOW
    + """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], now + ARGV[2], ARGV[1])
return 1"""
)
# KEYS: heartbeats; ARGV: worker, ttl ms
_BEAT = _NOW + "redis.call('ZADD', KEYS[1], now + ARGV[2], ARGV[1]) return 1"
# KEYS: requests, workers; ARGV: worker.  The highest priority first (scores are -priority).
_TAKE = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0)
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], ARGV[1], 'busy')
return r[1]"""
# KEYS: requests, workers, heartbeats; ARGV: worker.  1 while work is left.
_SETTLE = (
    _NOW
    + """
redis.call('HSET', KEYS[2], ARGV[1], 'idle')
if redis.call('ZCARD', KEYS[1]) > 0 then return 1 end
local states = redis.call('HGETALL', KEYS[2])
for i = 1, #states, 2 do
  if states[i] ~= ARGV[1] and states[i + 1] == 'busy' then
    local deadline = redis.call('ZSCORE', KEYS[3], states[i])
    if deadline and tonumber(deadline) > now then return 1 end
  end
end
return 0"""
)


class GroupError(ScrubwatchError):
    """A shared crawl that cannot be reached, opened or joined; the message says why."""


def group_key(crawl_id: str, name: str) -> str:
    return f"{KEY_PREFIX}:{crawl_id}:{name}"


def connect(url: str) -> redis.Redis:
    """A client for the Redis at ``url`` (``redis://HOST:PORT/DB``), checked with a PING."""
    import redis

    try:
        client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5
        )
        client.ping()
    except ValueError as exc:
        raise GroupError(f"--redis {url}: {exc}") from exc
    except redis.RedisError as exc:
        raise GroupError(f"cannot reach Redis at {url}: {exc}") from exc
    return client


class CrawlGroup:
    """One shared crawl's keys in Redis, and the steps workers take on them."""

    def __init__(self, client: redis.Redis, crawl_id: str) -> None:
        self.client = client
        self.crawl_id = crawl_id
        sources = {"open": _OPEN, "join": _JOIN, "beat": _BEAT, "take": _TAKE, "settle": _SETTLE}
        self._scripts = {name: client.register_script(lua) for name, lua in sources.items()}

    def key(self, name: str) -> str:
        return group_key(self.crawl_id, name)

    def _keys(self, *names: str) -> list[str]:
        return [self.key(name) for name in names]

    def open(self, worker: str, ttl: float, fields: dict[str, str]) -> bool:
        """Start the crawl with ``worker`` as its coordinator; False if it exists already."""
        args: list[str | int] = [worker, int(ttl * 1000), BUSY, "status", RUNNING]
        args += ["coordinator", worker]
        args += [x for pair in fields.items() for x in pair]
        return bool(self._scripts["open"](self._keys("crawl", "workers", "heartbeats"), args))

    def join(self, worker: str, ttl: float) -> bool:
        """Take part in the crawl; False unless it is running."""
        keys = self._keys("crawl", "workers", "heartbeats")
        return bool(self._scripts["join"](keys, [worker, int(ttl * 1000), IDLE]))

    def fields(self) -> dict[str, str]:
        """What the coordinator recorded (status, store, seeds, depth, ...); {} if no such crawl."""
        return {str(k): str(v) for k, v in self.client.hgetall(self.key("crawl")).items()}

    def beat(self, worker: str, ttl: float) -> None:
        self._scripts["beat"](self._keys("heartbeats"), [worker, int(ttl * 1000)])

    def take(self, worker: str) -> str | None:
        """The next request's data off the frontier, marking ``worker`` busy; None if empty."""
        data = self._scripts["take"](self._keys("requests", "workers"), [worker])
        return str(data) if data else None

    def pending(self) -> int:
        return int(self.client.zcard(self.key("requests")))

    def settle(self, worker: str) -> bool:
        """Mark ``worker`` idle; True while requests wait or another live worker is busy."""
        keys = self._keys("requests", "workers", "heartbeats")
        return bool(self._scripts["settle"](keys, [worker]))

    def set_state(self, worker: str, state: str) -> None:
        self.client.hset(self.key("workers"), worker, state)

    def set_status(self, status: str) -> None:
        self.client.hset(self.key("crawl"), "status", status)

    def states(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.client.hgetall(self.key("workers")).items()}

    def alive(self) -> set[str]:
        """The workers whose heartbeat deadline has not passed."""
        seconds, micros = self.client.time()
        now = seconds * 1000 + micros // 1000
        return {
            str(w) for w in self.client.zrangebyscore(self.key("heartbeats"), f"({now}", "+inf")
        }

    def wait_for(self, worker: str, timeout: float, poll: float = 0.5) -> dict[str, list[str]]:
        """Wait until every other worker has published or is gone, at most ``timeout`` seconds.

        Returns the other workers by outcome: ``published``, ``lost`` (gone without
        publishing) and ``waiting`` (still alive at the timeout).
        """
        end = time.monotonic() + timeout
        while True:
            states, alive = self.states(), self.alive()
            others = {w: s for w, s in states.items() if w != worker}
            waiting = sorted(w for w, s in others.items() if s != PUBLISHED and w in alive)
            if not waiting or time.monotonic() >= end:
                break
            time.sleep(poll)
        return {
            "published": sorted(w for w, s in others.items() if s == PUBLISHED),
            "lost": sorted(w for w, s in others.items() if s != PUBLISHED and w not in alive),
            "waiting": waiting,
        }

    def delete(self) -> None:
        """Remove every key of the crawl: it is closed."""
        names = ("crawl", "requests", "dupefilter", "digests", "workers", "heartbeats")
        self.client.delete(*self._keys(*names))


class Heartbeat:
    """Calls ``beat`` every ``interval`` seconds from a daemon thread until stopped."""

    def __init__(self, beat: Any, interval: float) -> None:
        self.beat = beat
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frontier-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        import redis

        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except redis.RedisError as exc:  # a blip: the next beat may get through
                logger.warning("heartbeat to Redis failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
