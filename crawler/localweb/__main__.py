"""``python -m crawler.localweb [--port 8431] [--version 1]``: serve the local cited web."""

from __future__ import annotations

import argparse
import threading

from crawler.localweb import LocalWeb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.localweb",
        description="Serve the local cited web on 127.0.0.2, 127.0.0.3, ... until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8431, help="port of every outlet (0: any)")
    parser.add_argument(
        "--version", type=int, choices=(1, 2), default=1, help="1: as first published, 2: scrubbed"
    )
    args = parser.parse_args(argv)
    web = LocalWeb(port=args.port, version=args.version)
    try:
        web.start()
    except OSError as exc:
        parser.exit(2, f"error: cannot listen on port {args.port} ({exc.strerror}); try --port 0\n")
    print(f"seed: {web.seed_url}")
    for key, base in web.outlets.items():
        print(f"  {key:<10} {base}")
    print("serving until Ctrl-C", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()


if __name__ == "__main__":
    main()
