"""When a recurring job fires: a cron expression in a time zone, or a fixed interval.

Cron expressions are evaluated by croniter in the job's time zone (zoneinfo), and are
limited to what system cron reads too, so that ``crontab_lines`` can hand them over.
``every`` intervals are counted from 1970-01-01T00:00Z, so ``6h`` fires at 00:00, 06:00,
12:00 and 18:00 UTC wherever the scheduler runs, and one crontab line can serve them all.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter

from storage.errors import BadInput

_EVERY = re.compile(r"([1-9][0-9]*)([mhd])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
# System cron reads five fields of numbers, names, '*', ',', '-' and '/', or these
# aliases; croniter accepts more (seconds, L, #, H), which a crontab line could not carry.
_CRON_ALIASES = {"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"}
_CRON_ATOM = r"(\*|[0-9]+|[A-Za-z]{3})"
_CRON_FIELD = re.compile(
    rf"{_CRON_ATOM}(-{_CRON_ATOM})?(/[0-9]+)?(,{_CRON_ATOM}(-{_CRON_ATOM})?(/[0-9]+)?)*"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aliases() -> str:
    return ", ".join(sorted(_CRON_ALIASES))


@dataclass(frozen=True)
class CronSchedule:
    """A cron expression read in ``timezone``.

    croniter handles the DST gap (a time that does not exist fires when the clock
    jumps past it). In the repeated hour after DST ends, an expression with fixed
    hours fires once, as system cron does; one firing every hour fires in both.
    """

    expression: str
    timezone: str = "UTC"
    _every_hour: bool = field(init=False, repr=False, compare=False, default=False)

    def __post_init__(self) -> None:
        if self.expression not in _CRON_ALIASES:
            fields = self.expression.split()
            if len(fields) != 5:
                raise BadInput(f"use 5 fields (got {len(fields)}) or one of {_aliases()}")
            for text in fields:
                if not _CRON_FIELD.fullmatch(text):
                    raise BadInput(f"field {text!r} is not one system cron understands")
        try:
            hours = croniter(self.expression).expanded[1]
        except CroniterError as exc:
            raise BadInput(str(exc)) from None
        object.__setattr__(self, "_every_hour", hours == ["*"] or len(hours) == 24)  # frozen
        self.next_after(datetime.now(UTC))  # an expression that never fires raises here

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _repeated(self, fire: datetime) -> bool:
        """Whether ``fire`` is the second pass of the wall-clock hour repeated after DST."""
        second_pass = fire.fold == 1 and fire.replace(fold=0).utcoffset() != fire.utcoffset()
        return second_pass and not self._every_hour

    def next_after(self, when: datetime) -> datetime:
        """The first fire time strictly after ``when`` (timezone-aware), in UTC."""
        times = croniter(self.expression, when.astimezone(self.zone))
        try:
            fire = times.get_next(datetime)
            while self._repeated(fire):
                fire = times.get_next(datetime)
        except CroniterError as exc:
            raise BadInput(f"it never fires after {when.isoformat()}: {exc}") from None
        return fire.astimezone(UTC)

    def last_at_or_before(self, when: datetime) -> datetime:
        """The latest fire time at or before ``when``, in UTC."""
        # croniter's get_prev is strictly before its start, and fire times are whole minutes.
        start = when.replace(microsecond=0) + timedelta(seconds=1)
        times = croniter(self.expression, start.astimezone(self.zone))
        fire = times.get_prev(datetime)
        while self._repeated(fire):
            fire = times.get_prev(datetime)
        return fire.astimezone(UTC)

    def describe(self) -> str:
        return f"cron {self.expression} ({self.timezone})"


@dataclass(frozen=True)
class IntervalSchedule:
    """Every ``seconds``, on a grid counted from 1970-01-01T00:00Z."""

    seconds: int
    text: str

    @classmethod
    def parse(cls, text: str) -> IntervalSchedule:
        match = _EVERY.fullmatch(text.strip())
        if not match:
            raise BadInput('use a whole number of minutes, hours or days: "30m", "6h", "1d"')
        return cls(int(match[1]) * _UNIT_SECONDS[match[2]], text.strip())

    def last_at_or_before(self, when: datetime) -> datetime:
        steps = math.floor((when - _EPOCH).total_seconds() / self.seconds)
        return _EPOCH + timedelta(seconds=steps * self.seconds)

    def next_after(self, when: datetime) -> datetime:
        return self.last_at_or_before(when) + timedelta(seconds=self.seconds)

    def describe(self) -> str:
        return f"every {self.text}"
