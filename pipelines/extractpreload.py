"""Imported once, by the fork server of :class:`~pipelines.extractpool.ExtractorPool`.

Every extraction worker is forked from that server, so it starts with trafilatura
imported and py3langid's model loaded, which would otherwise cost every worker seconds
of CPU, and so does a worker that replaces one killed on a time limit.

The server also builds what trafilatura's jusText fallback builds on its first use
and keeps: the words of all of jusText's stoplists, as a tuple and the frozenset jusText
makes of it. Built here, they are one copy that the workers share; left to the first
page that needs them, each worker would make its own (bench/README.md, "5. Memory").
"""

from __future__ import annotations

import gc

import py3langid
from justext.core import define_stoplist
from trafilatura.external import jt_stoplist_init

import pipelines.extractpool  # noqa: F401  (trafilatura, lxml, htmldate, ...)
from pipelines.malloc import trim_malloc

py3langid.classify("load the model")
# What trafilatura.external.try_justext asks for when the page's language is not set
# (it never is here): jt_stoplist_init() once, then jusText's cached frozenset of it.
define_stoplist(jt_stoplist_init())
gc.collect()
trim_malloc()
# Keep the collector off what is loaded here, so that forked workers share its pages
# rather than copying them as the collector touches every object.
gc.freeze()
