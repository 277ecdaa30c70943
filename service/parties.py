"""Who must sign a document, and who has: the form's parties in the seeds' order, each required unless the
document's data leaves it out, signed when the registry holds a revision that party signed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import Conflict, InvalidData
from .forms import FormSpec, Party
from .registry.documents import DocumentRecord, RevisionRecord


@dataclass(frozen=True)
class PartyState:
    role: str
    label: str
    required: bool
    state: str  # waiting | signed | skipped
    signer: str | None
    signed_at: dt.datetime | None
    staff: bool  # signs with a staff member's own certificate (else: a person's event certificate)


def party_states(spec: FormSpec, data: Mapping[str, Any], revisions: Sequence[RevisionRecord]) -> list[PartyState]:
    signed = {r.party: r for r in revisions if r.party}
    states = []
    for party in spec.signers:
        required = party.present(data)
        revision = signed.get(party.role)
        state = "signed" if revision else "waiting" if required else "skipped"
        states.append(PartyState(party.role, party.label, required, state, revision.signer if revision else None,
                                 revision.created_at if revision else None, party.staff))
    return states


def awaiting(states: Sequence[PartyState]) -> list[PartyState]:
    return [s for s in states if s.state == "waiting"]


def party_of(spec: FormSpec, role: object) -> Party:
    """The form's party ``role``; raises InvalidData (the form has no such party)."""
    for party in spec.signers:
        if party.role == role:
            return party
    roles = "、".join(p.role for p in spec.signers) or "—"
    raise InvalidData({"party": [f"该表单没有这一签署方；可选：{roles} / the form has no such party; it has: {roles}"]})


def check_turn(record: DocumentRecord, states: Sequence[PartyState], role: str) -> PartyState:
    """The state of the party about to sign; raises Conflict when it may not sign now, and says why."""
    if record.status == "voided":
        raise Conflict("文书已作废，不能签署", "the document is voided: it cannot be signed", code="document_voided")
    if record.status != "awaiting_signatures":
        raise Conflict("文书已签署完成，不能再签", "every party has signed: the document is complete", code="document_completed")
    for state in states:
        if state.role == role:
            if state.state == "signed":
                raise Conflict(f"{state.label}已签署，不能重复签署", f"{state.role} has signed already", code="already_signed")
            if state.state == "skipped":
                raise Conflict(f"本文书没有{state.label}，无需签署", f"this document has no {state.role}: nothing to sign",
                               code="party_not_in_document")
            return state
        if state.state == "waiting":
            raise Conflict(f"请先由{state.label}签署", f"{state.role} signs first", code="not_your_turn")
    raise Conflict("该表单没有这一签署方", "the form has no such party", code="no_such_party")
