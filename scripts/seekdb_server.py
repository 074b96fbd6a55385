"""Run OceanBase seekdb (embedded from PyPI: pylibseekdb) as a local MySQL-protocol server until stopped.

    python scripts/seekdb_server.py DIR [--url-file FILE]

Starts seekdb on the data directory DIR (created if missing), prints the SQLAlchemy URL of its `test`
database on one line (and writes it to FILE when given, once the server answers), then serves until it gets
SIGTERM or SIGINT, and shuts seekdb down cleanly. The tests (tests/conftest.py) and the benchmarks
(`--url`) connect to it like to any MySQL server.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import quote


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--url-file")
    args = parser.parse_args()
    import pylibseekdb
    import pymysql

    Path(args.dir).mkdir(parents=True, exist_ok=True)
    instance = pylibseekdb.open(db_dir=str(Path(args.dir).resolve()))
    options = instance.connection_options()
    probe = pymysql.connect(**options)
    probe.close()
    socket = options.get("unix_socket")
    where = f"?unix_socket={quote(socket)}" if socket else ""
    host = "" if socket else f"127.0.0.1:{options['port']}"
    url = f"mysql+pymysql://root@{host}/test{where}"
    print(url, flush=True)
    if args.url_file:
        tmp = f"{args.url_file}.{os.getpid()}"
        Path(tmp).write_text(url + "\n")
        os.replace(tmp, args.url_file)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    instance.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
