"""Imported once, by the fork server of :class:`~pipelines.extractpool.ExtractorPool`.

Every extraction worker is forked from that server, so it starts with trafilatura
imported and py3langid's model loaded (about 2 s of CPU a worker when each did it
itself), and so does a worker that replaces one killed on a time limit.
"""

from __future__ import annotations

import gc

import py3langid

import pipelines.extractpool  # noqa: F401  (trafilatura, lxml, htmldate, ...)

py3langid.classify("load the model")
# Keep the collector off what is loaded here, so that forked workers share its pages
# rather than copying them as the collector touches every object.
gc.freeze()
