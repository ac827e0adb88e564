"""The local cited web: a loopback replay of the outlets the Dong Jingwei story cites.

``LocalWeb`` serves each outlet on its own loopback address (127.0.0.2, 127.0.0.3, ...),
all on one port, in two versions so that a recrawl has something scrubbed to find.
``python -m crawler.localweb`` serves it until Ctrl-C.
"""

from __future__ import annotations

from crawler.localweb.server import LocalWeb

__all__ = ["LocalWeb"]
