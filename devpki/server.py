"""The declared PKI's services on loopback: its TSA, its CRLs, its OCSP responder and its certificates,
answered by certomancer's own WSGI application (the Animator) in a thread.

A process serves at the address init-pki chose (``certs/dev-pki.json``), which the certificates name
in their CRL distribution points (and the test signers' in their OCSP locations). If that port is
taken (another process of this checkout serves it), the process serves its own TSA on a free port:
revocation data is then answered by that other process.

A server follows ``certs/dev-pki.json``: when a rotation changes it (a new generation of an agency's certificate, a
certificate revoked for key compromise), the next request is answered from the PKI built again from it, so that a
running service's CRLs list the revocation without a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from certomancer.integrations.animator import Animator, AnimatorArchStore

from service.errors import ChengnuoError
from service.signing.paths import read_passphrase

from . import sm2
from .declaration import DevPki, load_dev_pki

log = logging.getLogger(__name__)


class _Quiet(WSGIRequestHandler):
    """No log line per request: the service's log has its own."""

    def log_message(self, *args: object) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _WholeSeconds(Animator):
    """certomancer's Animator, answering at the current time to the second: NSS (pdfsig) refuses an OCSP
    response whose times carry fractions of a second."""

    def at_time(self, request: object) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)


class DevPkiServer:
    """certomancer's Animator for the declared PKI, on 127.0.0.1, in a daemon thread."""

    def __init__(self, pki: DevPki, port: int | None = None) -> None:
        """``port``: None for the declared one, 0 for any free one. Raises OSError if it is taken."""
        self.pki = pki
        self.served: Counter[str] = Counter()  # requests by kind of service: tsa, ocsp, crls, certs
        self._stamp = self._state_stamp()
        self._reload_lock = threading.Lock()
        self._animator = self._animate(pki)
        self._crl: tuple[dt.datetime, bytes] | None = None
        self._crl_lock = threading.Lock()

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            self._follow_state()
            parts = environ.get("PATH_INFO", "").split("/")
            self.served[parts[2] if len(parts) > 2 else ""] += 1
            if environ.get("PATH_INFO") == sm2.CRL_PATH:
                return self._sm2_crl(start_response)
            return self._animator(environ, start_response)

        declared = urlsplit(pki.url).port
        self._server = make_server("127.0.0.1", declared if port is None else port, app, server_class=_ThreadingServer,
                                   handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="dev-pki", daemon=True)
        self._thread.start()

    @staticmethod
    def _animate(pki: DevPki) -> Animator:
        return _WholeSeconds(AnimatorArchStore({pki.arch.arch_label: pki.arch}), with_web_ui=False, allow_time_override=False)

    def _state_stamp(self) -> tuple[int, int, int] | None:
        try:
            info = self.pki.paths.services_file.stat()
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def _follow_state(self) -> None:
        """Builds the PKI again when ``dev-pki.json`` changed since it was built (a rotation, a revocation)."""
        stamp = self._state_stamp()
        if stamp == self._stamp or stamp is None:
            return
        with self._reload_lock:
            if stamp == self._stamp:
                return
            try:
                pki = load_dev_pki(self.pki.paths.root, url=self.pki.url)
            except ChengnuoError as exc:
                log.warning("the development PKI changed but cannot be loaded again (%s): still serving the previous one", exc.en)
                return
            self.pki, self._animator, self._stamp = pki, self._animate(pki), stamp
            log.info("the development PKI's declaration changed (%s): serving it as it is now", self.pki.paths.services_file)

    def _sm2_crl(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The SM2 root's CRL (``sm2.py``), signed afresh at most once a minute."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self._crl_lock:
            if self._crl is None or now - self._crl[0] >= dt.timedelta(minutes=1):
                try:
                    paths = self.pki.paths
                    key = sm2.load_key(paths.sm2_root_key, read_passphrase(paths.passphrase_file))
                    der = sm2.root_crl(sm2.read_cert(paths.sm2_root_cert), key, now, int(now.timestamp())).dump()
                except (OSError, ValueError) as exc:
                    log.warning("the SM2 root's CRL cannot be made: %s", type(exc).__name__)
                    start_response("404 Not Found", [("Content-Type", "text/plain")])
                    return [b"no SM2 root"]
                self._crl = (now, der)
            der = self._crl[1]
        start_response("200 OK", [("Content-Type", "application/pkix-crl"), ("Content-Length", str(len(der)))])
        return [der]

    @property
    def serves_declared_address(self) -> bool:
        return self.url == self.pki.url

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/{self.pki.tsa_path}"

    @property
    def tsa_next_url(self) -> str:
        """The TSA whose certificate outlives ``tsa_url``'s: ``python -m service ltv renew`` against it extends archives."""
        return f"{self.url}/{self.pki.tsa_next_path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


_servers: dict[Path, DevPkiServer] = {}
_lock = threading.Lock()


def dev_pki_server(certs_dir: Path) -> DevPkiServer:
    """This process's server of the PKI under ``certs_dir``, started on first use.

    Raises ConfigurationError when the PKI is incomplete (init-pki not run).
    """
    key = certs_dir.resolve()
    with _lock:
        server = _servers.get(key)
        if server is None:
            pki = load_dev_pki(certs_dir)
            try:
                server = DevPkiServer(pki)
            except OSError:
                server = DevPkiServer(pki, port=0)
                log.info("the development PKI's address %s is taken (another process serves it); this process's TSA "
                         "answers at %s", pki.url, server.url)
            _servers[key] = server
        return server
