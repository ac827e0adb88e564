"""Run by tests/test_cdxj.py in .venv-pywb: look URLs up in a ZipNum index with pywb.

Usage: lookup.py <index.idx> <warc folder> <url>...; prints one JSON line per URL with
what pywb's ZipNumIndexSource found and the status of the record each capture points
to (read by pywb's BlockLoader range read and warcio's record loader).
"""

import json
import os
import sys

from pywb.utils.loaders import BlockLoader
from pywb.warcserver.index.zipnum import ZipNumIndexSource
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.recordloader import ArcWarcRecordLoader

idx, warcs, urls = sys.argv[1], sys.argv[2], sys.argv[3:]
source = ZipNumIndexSource.init_from_string(idx)
for url in urls:
    found = []
    for cdx in source.load_index({"url": url}):
        stream = BlockLoader().load(
            os.path.join(warcs, cdx["filename"]), int(cdx["offset"]), int(cdx["length"])
        )
        record = ArcWarcRecordLoader().parse_record_stream(DecompressingBufferedReader(stream))
        found.append(
            {
                "timestamp": cdx["timestamp"],
                "filename": cdx["filename"],
                "uri": record.rec_headers.get_header("WARC-Target-URI"),
                "status": record.http_headers.get_statuscode(),
            }
        )
    print(json.dumps({"url": url, "found": found}))
