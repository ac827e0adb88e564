"""Reading the archive over time: timelines, snapshots, text diffs, diffs and the scrub report.

Everything here reads crawls a store already holds, through :mod:`storage` only; nothing
here fetches, captures or writes a crawl.
"""
