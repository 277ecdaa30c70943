"""Signing links: a calling system asks for one (POST /api/v1/documents/{id}/signing-links); the signer's page
(and any client) signs with it (POST /api/v1/signing/{token})."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from .. import documents, signing_links
from ..auth.http import client_address, require_principal
from ..http.openapi import Blueprint
from ..registry.documents import DocumentRecord
from ..runtime import Services
from ..signing_flow import Client
from .schemas import DocumentSchema, LinkRequestSchema, LinkSchema, LinkSignatureSchema

bp = Blueprint("signing_api", __name__, url_prefix="/api/v1", description="signing by the applicant and other persons")
public = Blueprint("signing_public_api", __name__, url_prefix="/api/v1/signing", public=True, rate_limited=True,
                   description="signing with a link (the link is the credential, with its code)")


def services() -> Services:
    return current_app.extensions["chengnuo"]


@bp.post("/documents/<document_id>/signing-links")
@bp.arguments(LinkRequestSchema)
@bp.response(201, LinkSchema, description="the link and its code, shown this once; deliver them by different channels")
@bp.errors((403, "not allowed to ask for signatures"), (404, "unknown document"),
           (409, "voided or complete, a staff party, or a party signed or not in this document"), (422, "the form has no such party"))
def create_link(body: dict[str, Any], document_id: str) -> tuple[signing_links.NewLink, int]:
    """A single-use signing link for one party (the applicant, 承诺主体, 委托代理人 …)."""
    return signing_links.create_link(services(), require_principal(), document_id, body["party"]), 201


@public.post("/<token>")
@public.arguments(LinkSignatureSchema)
@public.response(200, DocumentSchema, description="signed")
@public.errors((403, "wrong code or ID number ending (the tries left in the message)"), (404, "no such link"),
               (409, "used; not this party's turn; the document voided or complete"), (410, "expired"), (422, "not agreed, or the drawing"),
               (423, "locked after five wrong tries"), (503, "the timestamping service is unavailable; see Retry-After"))
def sign(body: dict[str, Any], token: str) -> DocumentRecord:
    """The link's party signs: the code (remote links), the ID number's last six characters when the form holds one,
    the agreement, and the handwritten signature as a PNG data URL."""
    return documents.detail(services(), signing_links.sign_with_link(
        services(), token, code=body.get("code"), id_suffix=body.get("id_suffix"), agree=body["agree"], signature=body["signature"],
        client=Client(client_address(), request.headers.get("User-Agent", ""))))
