"""chengnuo's development and test PKI, declared once with certomancer (``pki.yml``).

Not part of the service's package (pyproject.toml packages ``service`` only): production brings its own
agency keys, trust roots and TSA. ``python -m service init-pki`` imports this package from the checkout.

    declaration.py   pki.yml plus one signing certificate per configured agency → certomancer's PKI
    materialise.py   the keys and the files under certs/ that the service reads (init-pki)
    rotation.py      a new key and certificate for an agency (key rotate), the old one revoked (key compromise)
    server.py        the declared TSA, CRLs and OCSP responder on loopback (certomancer's Animator)
"""

from .declaration import DevPki, load_dev_pki
from .materialise import init_pki
from .rotation import Rotation, rotate
from .server import DevPkiServer, dev_pki_server

__all__ = ["DevPki", "DevPkiServer", "Rotation", "dev_pki_server", "init_pki", "load_dev_pki", "rotate"]
