"""python -m devpki serve: the development PKI's TSA, CRLs and OCSP responder on loopback, in the
foreground, at the address its certificates name (``certs/dev-pki.json``).

The service serves them itself while it runs (from its first timestamp on); this is for when it does
not: checking revocation data by hand, or with a validator, while no service runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from service.config import load_settings
from service.errors import ChengnuoError

from .declaration import load_dev_pki
from .server import DevPkiServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devpki", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["serve"])
    parser.parse_args(argv)
    try:
        pki = load_dev_pki(load_settings().certs_dir)
        server = DevPkiServer(pki)
    except ChengnuoError as exc:
        print(f"错误 / error: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"错误 / error: {pki.url} is taken ({exc.strerror}): a service of this checkout serves it already", file=sys.stderr)
        return 1
    print(f"development PKI services on {server.url}: TSA {server.tsa_url}, CRLs {server.url}/chengnuo-dev/crls/…, "
          f"OCSP {server.url}/chengnuo-dev/ocsp/interm (Ctrl-C stops)")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
