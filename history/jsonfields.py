"""Reading a saved JSON document back, field by field.

A missing field, or a value of the wrong type, is a ValueError naming the field: what
:meth:`history.diffresult.Diff.from_dict` and :meth:`history.searchresult.SearchDiff.from_dict`
raise for a report that is not one.
"""

from __future__ import annotations

from typing import Any

TEXT = (str, type(None))
NUMBER = (int, type(None))


def field_of(data: object, name: str, kind: type | tuple[type, ...]) -> Any:
    """``data[name]`` if ``data`` is a JSON object and the value is a ``kind`` (a bool
    only where ``kind`` names bool: JSON's true is no number); else ValueError."""
    if not isinstance(data, dict) or name not in data:
        raise ValueError(f"no {name!r} in {data!r}")
    value = data[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"{name!r} has the wrong type: {value!r}")
    return value


def strings_of(data: object, name: str) -> list[str]:
    """``data[name]``, a list of strings; else ValueError."""
    values = field_of(data, name, list)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name!r} is not a list of strings: {values!r}")
    return list(values)


def literal_of(data: object, name: str, allowed: tuple[str, ...]) -> Any:
    """``data[name]``, one of the strings ``allowed``; else ValueError."""
    value = field_of(data, name, str)
    if value not in allowed:
        raise ValueError(f"{name!r} is {value!r}, not one of {', '.join(allowed)}")
    return value


def optional_of(data: object, name: str, allowed: tuple[str, ...] | None = None) -> Any:
    """``data[name]``: None when absent (a document saved before the field) or null; else
    a string (one of ``allowed``, if given)."""
    if isinstance(data, dict) and data.get(name) is None:
        return None
    return literal_of(data, name, allowed) if allowed else field_of(data, name, str)
