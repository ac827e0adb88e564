"""Run by tests/test_wacz.py in .venv-pywb: pywb reads the WARCs of an unpacked WACZ.

Usage: wacz_lookup.py <index.cdxj> <archive folder> <url>...; prints one JSON line per
URL: for each capture the index has of it, in order, the HTTP status and the SHA-256
of the payload pywb's WARCPathLoader loads, a revisit resolved to its original the way
pywb replays one (by looking the original up in the same index).
"""

import hashlib
import json
import sys

from pywb.utils.canonicalize import canonicalize
from pywb.warcserver.index.cdxobject import CDXObject
from pywb.warcserver.resource.responseloader import WARCPathLoader

index, archive, urls = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(index, "rb") as fh:
    lines = [line.rstrip(b"\n") for line in fh if line.strip()]


def lookup(params):
    key = canonicalize(params["url"]).encode()
    found = [CDXObject(line) for line in lines if line.split(b" ", 1)[0] == key]
    return iter(found), []


loader = WARCPathLoader(archive.rstrip("/") + "/", lookup)
for url in urls:
    found = []
    for cdx in lookup({"url": url})[0]:
        warc_headers, http_headers, stream = loader.load_resource(cdx, {})
        status = http_headers.split(b" ", 2)[1].decode() if http_headers else None
        found.append(
            {
                "timestamp": cdx["timestamp"],
                "type": warc_headers.get_header("WARC-Type"),
                "status": status,
                "sha256": hashlib.sha256(stream.read()).hexdigest(),
            }
        )
    print(json.dumps({"url": url, "found": found}))
