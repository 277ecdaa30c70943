"""GB/T 38540-2020 electronic seals, version 4 (``SESeal``), declared in asn1crypto.

The standard's text is not freely published; the structures below follow two open implementations that agree with
each other, field for field:

- ofdrw (github.com/ofdrw/ofdrw), ``ofdrw-gm/src/main/java/org/ofdrw/gm/ses/v4/``: ``SESeal``, ``SES_SealInfo``,
  ``SES_ESPropertyInfo``, ``SES_CertList``, ``CertInfoList``, ``CertDigestObj``, and from ``ses/v1/`` the
  ``SES_Header``, ``SES_ESPictrueInfo`` (sic) and ``ExtensionDatas`` that v4 reuses; its ``SESealTest`` signs
  ``SES_SealInfo``'s DER with SM3withSM2;
- Chingliu/gm_0031_38540_verifier, ``38540.cpp``: the same v4 structures as OpenSSL ASN.1 templates, and a verifier
  that checks the maker's signature over ``i2d(SES_SealInfo)``.

Version 4 puts the maker's certificate, algorithm and signature directly in ``SESeal``; version 2 (GM/T 0031-2014)
nested them in an ``SES_SignInfo``. Here it is version 4, as both implementations have it:

    SESeal ::= SEQUENCE {
        eSealInfo     SES_SealInfo,
        cert          OCTET STRING,          -- the seal maker's (制章者) certificate, DER
        signAlgID     OBJECT IDENTIFIER,     -- 1.2.156.10197.1.501, SM2 with SM3
        signedValue   BIT STRING }           -- the maker's signature over DER(eSealInfo)
    SES_SealInfo ::= SEQUENCE {
        header        SES_Header,            -- ID IA5String "ES", version INTEGER 4, Vid IA5String (the vendor)
        esID          IA5String,             -- the seal's identifier
        property      SES_ESPropertyInfo,
        picture       SES_ESPictrueInfo,
        extDatas      ExtensionDatas OPTIONAL }
    SES_ESPropertyInfo ::= SEQUENCE {
        type          INTEGER,               -- 1 official seal (公章), 2 special seal (专用章), 3 personal (个人章) …
        name          UTF8String,
        certListType  INTEGER,               -- 1: certList is the signers' certificates; 2: their digests
        certList      SES_CertList,          -- CHOICE { certs CertInfoList, certDigestList CertDigestList }
        createDate    GeneralizedTime,
        validStart    GeneralizedTime,
        validEnd      GeneralizedTime }
    CertInfoList ::= SEQUENCE OF OCTET STRING                       -- each a certificate, DER
    CertDigestList ::= SEQUENCE OF CertDigestObj
    CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING }
    SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING, width INTEGER, height INTEGER }  -- mm
    ExtensionDatas ::= SEQUENCE OF ExtData
    ExtData ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }

``SES_CertList``'s two alternatives are both a SEQUENCE, so a decoder cannot tell them apart by tag: its type is
chosen by ``certListType``, as ofdrw does (``_spec_callbacks`` below).
"""

from __future__ import annotations

from typing import ClassVar

from asn1crypto import core

HEADER_ID = "ES"
VERSION = 4
CERT_LIST_CERTS = 1
CERT_LIST_DIGESTS = 2
SEAL_TYPES = {1: ("公章", "official seal"), 2: ("专用章", "special seal"), 3: ("个人章", "personal seal")}


class SesHeader(core.Sequence):
    _fields: ClassVar[list[tuple]] = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields: ClassVar[list[tuple]] = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


def _cert_list_spec(info: SesEsPropertyInfo) -> type[core.Asn1Value]:
    return CertDigestList if info["cert_list_type"].native == CERT_LIST_DIGESTS else CertInfoList


class SesEsPropertyInfo(core.Sequence):
    _fields: ClassVar[list[tuple]] = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]
    _spec_callbacks: ClassVar[dict] = {"cert_list": _cert_list_spec}


class SesEsPictureInfo(core.Sequence):
    """``SES_ESPictrueInfo`` (the standard's spelling)."""

    _fields: ClassVar[list[tuple]] = [("type", core.IA5String), ("data", core.OctetString), ("width", core.Integer), ("height", core.Integer)]


class ExtData(core.Sequence):
    _fields: ClassVar[list[tuple]] = [("extn_id", core.ObjectIdentifier), ("critical", core.Boolean, {"default": False}), ("extn_value", core.OctetString)]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SesSealInfo(core.Sequence):
    _fields: ClassVar[list[tuple]] = [
        ("header", SesHeader),
        ("es_id", core.IA5String),
        ("property", SesEsPropertyInfo),
        ("picture", SesEsPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESeal(core.Sequence):
    _fields: ClassVar[list[tuple]] = [
        ("e_seal_info", SesSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]

