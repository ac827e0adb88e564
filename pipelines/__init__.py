"""The stages a response or an item goes through: WARC capture, crawl log, extraction, dataset."""
