"""Placeholder until the policy module lands: which pages a browser renders."""

from __future__ import annotations


def wants_browser(mode: str, outlet_flag: bool, html: bytes | None, content_type: str) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return outlet_flag
