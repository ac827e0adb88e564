"""Placeholder until the chromium module lands."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.settings import Settings


def launch_options(settings: Settings) -> dict[str, Any]:
    return {
        "executable_path": os.environ.get(
            "SCRUBWATCH_CHROMIUM_WRAPPER", "/work/proto24/chromium-netns"
        ),
        "headless": True,
        "args": ["--disable-quic", "--disable-gpu"],
    }
