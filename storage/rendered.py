"""Names of the records a browser rendering leaves beside a page's response.

``urn:view:<url>``: the screenshot (``image/png``); ``urn:dom:<url>``: the rendered DOM
(``text/html``). Both are ``resource`` records with ``WARC-Concurrent-To`` the page's
response record; ``urn:view:`` is the name Browsertrix gives its screenshots.
"""

from __future__ import annotations

VIEW_PREFIX = "urn:view:"
DOM_PREFIX = "urn:dom:"


def view_uri(url: str) -> str:
    return VIEW_PREFIX + url


def dom_uri(url: str) -> str:
    return DOM_PREFIX + url


def rendered_page(uri: str) -> str | None:
    """The page whose rendered DOM the record ``uri`` holds; None for any other record."""
    return uri.removeprefix(DOM_PREFIX) if uri.startswith(DOM_PREFIX) else None
