"""国密: SM2 signatures over SM3 beside RSA and ECDSA (issue 20).

    oids.py        the GM OIDs registered with asn1crypto, once per process, version-pinned
    sm2.py         sign, verify and e = SM3(Z_A ‖ M) with tongsuopy, the distinguishing ID pinned
    validator.py   pyhanko-certvalidator's signature validator for SM2 (chains, CRLs, SignerInfo)
    backends.py    where an agency's SM2 key signs: a key file, a signing server over HTTP, a PKCS#11 token
    seseal.py      GB/T 38540 v4 electronic seals (SESeal) declared in asn1crypto
    eseal.py       make_seal and verify_seal: the seal maker's SM2 signature, chain, window, picture

Importing the package registers the OIDs: every module that reads an SM2 certificate imports it first.
"""

from . import oids

oids.register()
