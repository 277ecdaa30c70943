"""An RFC 3161 TSA served over HTTP on loopback, for testing the service against a TSA URL."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import tsp

from service.signing.keys import KeyStore
from service.signing.timestamps import LocalTimeStamper


class TsaServer:
    def __init__(self, keys: KeyStore) -> None:
        stamper = LocalTimeStamper(keys.tsa_signer(), lambda: dt.datetime.now(dt.timezone.utc))
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                response = asyncio.run(stamper.async_request_tsa_response(tsp.TimeStampReq.load(body))).dump()
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(response)))
                self.end_headers()
                self.wfile.write(response)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> TsaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
