"""The URLs of an HTML ``srcset`` attribute, read as the HTML standard reads them.

Plain Python: the crawl's requisites walk (:mod:`crawler.requisites`) and the extraction
workers' image list (:mod:`pipelines.extraction`) both use it.
"""

from __future__ import annotations

_HTML_SPACE = " \t\n\r\f"
_SRCSET_GAP = _HTML_SPACE + ","


def srcset_urls(srcset: str) -> list[str]:
    """The URLs of a ``srcset`` attribute (``a.jpg 1x, b.jpg 2x``), as HTML parses it.

    A candidate is a URL (a run without whitespace; commas at its end close it) then
    descriptors up to the next comma outside parentheses, so ``a.jpg 1x,b.jpg 2x`` is
    two URLs and a ``data:`` URL keeps its comma.
    """
    urls = []
    pos, end = 0, len(srcset)
    while pos < end:
        while pos < end and srcset[pos] in _SRCSET_GAP:
            pos += 1
        start = pos
        while pos < end and srcset[pos] not in _HTML_SPACE:
            pos += 1
        url = srcset[start:pos]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # descriptors, to the comma that ends the candidate
            depth = 0
            while pos < end and (srcset[pos] != "," or depth):
                if srcset[pos] == "(":
                    depth += 1
                elif srcset[pos] == ")" and depth:
                    depth -= 1
                pos += 1
        if url:
            urls.append(url)
    return urls
