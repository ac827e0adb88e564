"""S3 Object Lock retention: how long every object a store writes stays undeletable.

Evidence is write-once by construction (a store never overwrites), but a bucket
owner can still delete. With Object Lock, each object is put with a mode and a
retain-until date: GOVERNANCE lets holders of ``s3:BypassGovernanceRetention``
delete it early, COMPLIANCE lets nobody, not even the root account. GOVERNANCE
is the default (:data:`DEFAULT_LOCK_MODE`, the default of the setting
``STORE_LOCK_MODE``), because a mistaken COMPLIANCE retention cannot be undone and is
billed for its full term.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.errors import BadInput

LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
DEFAULT_LOCK_MODE = "GOVERNANCE"


@dataclass(frozen=True)
class Retention:
    """Object Lock ``mode`` for ``days`` days from the moment each object is put."""

    days: int
    mode: str = DEFAULT_LOCK_MODE

    def __post_init__(self) -> None:
        if self.days < 1:
            raise BadInput(f"retention must be at least 1 day, got {self.days}")
        if self.mode not in LOCK_MODES:
            raise BadInput(f"unknown Object Lock mode {self.mode!r}: use {' or '.join(LOCK_MODES)}")

    @classmethod
    def for_days(cls, days: int | None, mode: str = DEFAULT_LOCK_MODE) -> Retention | None:
        """The retention for ``days`` in ``mode`` (any case); ``None`` when days is None or 0."""
        if days is None or days == 0:
            return None
        if days < 0:
            raise BadInput(f"retention days must be 0 (none) or more, got {days}")
        return cls(days, mode.upper())

    def object_params(self, now: datetime | None = None) -> dict[str, Any]:
        """The PutObject / CreateMultipartUpload parameters for an object put at ``now``."""
        until = (now or datetime.now(UTC)) + timedelta(days=self.days)
        return {"ObjectLockMode": self.mode, "ObjectLockRetainUntilDate": until}
