"""A set of strings that remembers the most recently seen ones, up to a size."""

from __future__ import annotations

from collections import OrderedDict


class RecentSet:
    """The ``size`` strings seen last; the one unseen longest is forgotten first.

    :meth:`add` says whether a string is new to it; seeing a string again makes it the
    most recent, so what recurs (a site's logo, its stylesheet) stays while what is
    seen once (an article's photo) is forgotten in turn.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be 1 or more, got {size}")
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Remember ``key``; True if it was not among the ``size`` last seen."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def __len__(self) -> int:
        return len(self._seen)
