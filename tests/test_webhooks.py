"""Webhooks for calling systems, against real receivers on loopback: each delivery signed as README says (the
receivers check it with the copyable verifier and its five-minute window), retried with backoff, logged, never
in a request's way; the secret shown once; each key sees only its own; several deliverers on one database send
each event once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import schemathesis
from sqlalchemy import select

from service.auth.principal import OPERATOR
from service.config import load_settings
from service.issuing import issue
from service.registry.tables import (
    audit_log,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)
from service.registry.webhooks import CANCELLED
from service.runtime import build_services
from service.webhooks import document_completed, document_signed, publish
from service.webhooks.delivery import Deliverer, DeliverySettings
from service.webhooks.events import matches
from service.webhooks.signature import HEADER, signature_header, verify_signature
from service.webhooks.subscriptions import create_webhook

from .conftest import keyed_client, sample
from .doubles import BlankPdfConverter, UnsignedSigner

pytestmark = pytest.mark.doubles  # what is delivered, not what LibreOffice makes of the document

SECONDS = dt.timedelta(seconds=1)


# --- receivers on loopback ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """A calling system's endpoint: checks every delivery's signature as README tells receivers to (a bad one gets
    400), and answers the scripted statuses first, then 200."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.secret = ""
        self.statuses = list(statuses)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                verified = verify_signature(receiver.secret, self.headers.get(HEADER), body)
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(Received(dict(self.headers), body, verified))
                self.send_response(status if verified else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/chengnuo?source=test"

    def events(self) -> list[dict]:
        with self.lock:
            return [r.event for r in self.received]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """A receiver that is up but never answers: the kernel accepts the connection, nobody reads it."""

    def __enter__(self) -> Silent:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/hook"
        return self

    def __exit__(self, *exc: object) -> None:
        self.socket.close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


class Clock:
    """A clock the test moves; it starts at the real time, so the receivers' five-minute window still holds."""

    def __init__(self, zone: dt.tzinfo) -> None:
        self.now = dt.datetime.now(zone)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


# --- helpers -----------------------------------------------------------------------------------------------


def key_principal(services, agencies=None, forms=("*",), name="案件系统"):
    record, key = services.api_keys.create(name=name, agencies=agencies or list(services.agencies.by_id), forms=forms, now=services.now())
    return record.principal(), key


def subscribe(client, receiver, events=("document.*",)) -> dict:
    response = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": list(events)})
    assert response.status_code == 201, response.json
    receiver.secret = response.json["secret"]
    return response.json


def deliver_all(deliverer: Deliverer, rounds: int = 20) -> int:
    attempted = 0
    for _ in range(rounds):
        done = deliverer.run_once()
        attempted += done
        if not done:
            break
    return attempted


def fast(**overrides) -> DeliverySettings:
    return DeliverySettings(**{"timeout": 2.0, "workers": 4, "backoff": (10 * SECONDS, 30 * SECONDS), **overrides})


def deliveries(services) -> list:
    with services.registry.engine.connect() as conn:
        return conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id)).all()


def operator_document(services, agency="jc-market", form="liaison-form"):
    return issue(services, form, sample(form), principal=OPERATOR, agency_id=agency).document


# --- the signature ------------------------------------------------------------------------------------------


def test_a_signature_verifies_only_with_its_secret_its_body_and_within_five_minutes():
    secret, body, t = "whsec_test", b'{"id":"evt_1","type":"document.issued"}', 1_764_988_800
    header = signature_header(secret, t, body)
    assert header.startswith(f"t={t},v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature(secret, header, body, now=t)
    assert verify_signature(secret, header, body, now=t + 300) and verify_signature(secret, header, body, now=t - 300)
    assert not verify_signature(secret, header, body, now=t + 301)  # older than five minutes: a replay
    assert not verify_signature(secret, header, body, now=t - 301)  # from the future
    assert not verify_signature("whsec_other", header, body, now=t)
    assert not verify_signature(secret, header, body + b" ", now=t)
    assert not verify_signature(secret, header.replace(f"t={t}", f"t={t + 1}"), body, now=t)  # the time is signed too
    assert verify_signature(secret, f"t={t},v1={'0' * 64},{header.split(',')[1]}", body, now=t)  # one of several v1
    for malformed in (None, "", "v1=abc", f"t={t}", "t=abc,v1=00", f"t=-{t},v1=00", "garbage", f"t={t},v1=ü"):
        assert not verify_signature(secret, malformed, body, now=t)


def test_subscriptions_match_event_types_and_wildcards():
    assert matches(["document.issued"], "document.issued") and not matches(["document.issued"], "document.voided")
    assert matches(["document.*"], "document.voided") and matches(["*"], "document.signed")
    assert not matches(["case.*"], "document.issued")


# --- making, listing, deleting ------------------------------------------------------------------------------


def test_the_secret_is_returned_once_and_never_listed_logged_audited_or_stored_in_clear(client, services, caplog):
    caplog.set_level(logging.DEBUG)
    with Receiver() as receiver:
        created = subscribe(client, receiver, ["document.issued", "document.voided", "document.issued"])
        secret = created["secret"]
        assert secret.startswith("whsec_") and len(secret) > 40
        assert created["events"] == ["document.issued", "document.voided"] and created["url"] == receiver.url
        assert created["id"].startswith("wh_") and created["links"]["deliveries"] == f"/api/v1/webhooks/{created['id']}/deliveries"

        operator_document(services)
        assert deliver_all(Deliverer(services, fast())) == 1
        assert receiver.received[0].verified

        listing = client.get("/api/v1/webhooks")
        assert listing.status_code == 200
        assert [w["id"] for w in listing.json["webhooks"]] == [created["id"]] and "secret" not in listing.json["webhooks"][0]
        log_page = client.get(f"/api/v1/webhooks/{created['id']}/deliveries")
        assert client.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    for text in (listing.get_data(as_text=True), log_page.get_data(as_text=True), caplog.text):
        assert secret not in text
    with services.registry.engine.connect() as conn:
        audited = conn.execute(select(audit_log.c.action, audit_log.c.detail).where(audit_log.c.action.like("webhook.%"))).all()
        stored = conn.execute(select(webhooks.c.secret)).scalar_one()
    assert [a for a, _ in audited] == ["webhook.add", "webhook.delete"]
    assert audited[0][1] == {"url": receiver.url.split("?")[0] + "?…", "events": ["document.issued", "document.voided"]}
    assert secret not in json.dumps([d for _, d in audited], ensure_ascii=False)
    assert secret not in stored and stored.startswith("v1:")
    database = (services.settings.data_dir / "chengnuo.db").read_bytes()
    assert secret.encode() not in database
    key_file = services.settings.data_dir / "webhook.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://example.org/hook", "events": ["document.issued"]}, "url"),
    ({"url": "/relative/hook", "events": ["document.issued"]}, "url"),
    ({"url": "http://user:pass@example.org/hook", "events": ["document.issued"]}, "url"),
    ({"url": "http://example.org/a hook", "events": ["document.issued"]}, "url"),
    ({"url": "http://example.org:99999/hook", "events": ["document.issued"]}, "url"),
    ({"url": "https://example.org/hook", "events": ["document.printed"]}, "events.0"),
    ({"url": "https://example.org/hook", "events": ["document.issued", "invoice.*"]}, "events.1"),
    ({"url": "https://example.org/hook", "events": []}, "events"),
    ({"url": "https://example.org/hook"}, "events"),
    ({"events": ["document.issued"]}, "url"),
    ({"url": 7, "events": "document.issued"}, "url"),
])
def test_a_bad_url_or_an_unknown_event_is_refused_with_bilingual_field_errors(client, body, field):
    response = client.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "invalid_data" and field in response.json["errors"]
    assert all(" / " in message for messages in response.json["errors"].values() for message in messages)


def test_a_key_cannot_see_or_delete_another_keys_webhook(app, client, services):
    _, other_key = key_principal(services, name="另一个系统")
    other = keyed_client(app, other_key)
    mine = client.post("/api/v1/webhooks", json={"url": "https://example.org/hook", "events": ["*"]}).json
    assert other.get("/api/v1/webhooks").json == {"webhooks": []}
    for response in (other.delete(f"/api/v1/webhooks/{mine['id']}"), other.get(f"/api/v1/webhooks/{mine['id']}/deliveries")):
        assert response.status_code == 404 and response.json["error"] == "webhook_not_found"
    assert [w["id"] for w in client.get("/api/v1/webhooks").json["webhooks"]] == [mine["id"]]
    assert client.delete(f"/api/v1/webhooks/{mine['id']}").status_code == 204
    assert client.delete(f"/api/v1/webhooks/{mine['id']}").status_code == 404
    assert client.get("/api/v1/webhooks").json == {"webhooks": []}


def test_only_calling_systems_manage_webhooks(app, anonymous, services):
    from service import admin

    admin.add_user(services, OPERATOR, "wang", "supervisor", "jc-market")
    assert anonymous.get("/api/v1/webhooks").status_code == 401
    assert anonymous.post("/api/v1/webhooks", json={"url": "nonsense"}).status_code == 401  # before the body is looked at
    person = app.test_client()
    with person.session_transaction() as session:
        session["user_id"], session["csrf"] = services.users.list()[0].id, "t"
    refused = person.post("/api/v1/webhooks", json={"url": "https://example.org/hook", "events": ["*"]}, headers={"X-CSRF-Token": "t"})
    assert refused.status_code == 403 and " / " in refused.json["message"]
    assert person.get("/api/v1/webhooks").status_code == 403


def test_the_delivery_log_is_paged_and_bounded(client, services):
    hook = client.post("/api/v1/webhooks", json={"url": closed_port_url(), "events": ["document.issued"]}).json
    for n in range(5):
        publish(services, "document.issued", {"document": {"id": f"d{n}"}}, agency="jc-market", form="liaison-form")
    first = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?per_page=2").json
    assert (first["total"], first["page"], first["per_page"], len(first["deliveries"])) == (5, 1, 2, 2)
    last = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?per_page=2&page=3").json
    assert len(last["deliveries"]) == 1 and last["deliveries"][0]["id"] < first["deliveries"][-1]["id"]  # newest first
    for query in ("per_page=0", "per_page=101", "page=0", "page=10001", "page=x"):
        refused = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?{query}")
        assert refused.status_code == 400 and refused.json["error"] == "invalid_request", query


def test_a_key_may_have_at_most_twenty_webhooks(client):
    for n in range(20):
        assert client.post("/api/v1/webhooks", json={"url": f"https://example.org/{n}", "events": ["*"]}).status_code == 201
    refused = client.post("/api/v1/webhooks", json={"url": "https://example.org/21", "events": ["*"]})
    assert refused.status_code == 409 and refused.json["error"] == "too_many_webhooks"


def test_webhook_answers_match_the_generated_document(app, client):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)

    def check(path: str, method: str, response, status: int):
        assert response.status_code == status, response.get_data(as_text=True)
        schema[path][method].validate_response(response)
        return response.json if response.data else None

    hook = check("/api/v1/webhooks", "POST", client.post("/api/v1/webhooks", json={"url": closed_port_url(), "events": ["*"]}), 201)
    check("/api/v1/webhooks", "GET", client.get("/api/v1/webhooks"), 200)
    check("/api/v1/webhooks/{webhook_id}/deliveries", "GET", client.get(f"/api/v1/webhooks/{hook['id']}/deliveries"), 200)
    check("/api/v1/webhooks/{webhook_id}", "DELETE", client.delete(f"/api/v1/webhooks/{hook['id']}"), 204)
    check("/api/v1/webhooks/{webhook_id}", "DELETE", client.delete(f"/api/v1/webhooks/{hook['id']}"), 404)


# --- events and deliveries ----------------------------------------------------------------------------------


def test_issuing_and_voiding_deliver_one_signed_event_each(client, services):
    with Receiver() as receiver:
        hook = subscribe(client, receiver, ["document.issued", "document.voided"])
        issued = client.post("/api/v1/documents", json={"form": "liaison-form", "agency": "jc-market", "data": sample("liaison-form")})
        assert issued.status_code == 201
        deliverer = Deliverer(services, fast())
        assert deliver_all(deliverer) == 1
        assert client.post(f"/api/v1/documents/{issued.json['id']}/void", json={"reason": "填写错误"}).status_code == 200
        assert deliver_all(deliverer) == 1
    assert [r.verified for r in receiver.received] == [True, True]
    first, second = receiver.events()
    assert [first["type"], second["type"]] == ["document.issued", "document.voided"]
    assert set(first) == {"id", "type", "created_at", "data"} and first["id"] != second["id"]
    document = first["data"]["document"]
    assert (document["id"], document["serial"], document["number"], document["status"]) == (
        issued.json["id"], issued.json["serial"], issued.json["number"], "completed")  # nobody else signs a liaison form
    assert (document["revision"], document["sha256"]) == (0, issued.json["sha256"]) and "data" not in document
    assert document["links"]["self"].endswith(f"/api/v1/documents/{issued.json['id']}") and document["links"]["pdf"].endswith("/pdf")
    assert (second["data"]["document"]["status"], second["data"]["document"]["void_reason"]) == ("voided", "填写错误")
    headers = receiver.received[0].headers
    assert (headers["X-Chengnuo-Event"], headers["Content-Type"]) == ("document.issued", "application/json; charset=utf-8")
    log_page = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json
    assert [(d["type"], d["state"], d["attempts"], d["last_status"]) for d in log_page["deliveries"]] == [
        ("document.voided", "delivered", 1, 200), ("document.issued", "delivered", 1, 200)]
    assert [a["status"] for a in log_page["deliveries"][1]["log"]] == [200]


def test_a_document_nobody_else_signs_is_announced_issued_then_completed(client, services):
    with Receiver() as receiver:
        subscribe(client, receiver, ["*"])
        alone = operator_document(services, form="liaison-form")
        awaiting = operator_document(services, form="commitment-letter")
        deliver_all(Deliverer(services, fast()))
    events = sorted(receiver.events(), key=lambda e: e["created_at"])
    assert [(e["type"], e["data"]["document"]["id"], e["data"]["document"]["status"]) for e in events] == [
        ("document.issued", alone.id, "completed"), ("document.completed", alone.id, "completed"),
        ("document.issued", awaiting.id, "awaiting_signatures")]


@pytest.mark.office
def test_each_party_signature_is_announced_then_completion(app, services, client, anonymous):
    """Through the real signing flow (LibreOffice, pyHanko): the applicant signs the letter through a link (named
    masked in the event), then the handler with their own certificate (named in full), the last party."""
    from .test_party_signing import sign, staff
    from .test_signing_links import ID, letter, link_for, sign_link

    with Receiver() as receiver:
        subscribe(client, receiver, ["document.signed", "document.completed"])
        document = letter(services)
        link = link_for(client, document.id)
        assert sign_link(anonymous, link["token"], code=link["code"], id_suffix=ID[-6:]).status_code == 200
        clerk, token, password = staff(app, services)
        assert sign(clerk, token, document.id, "handler", password).status_code == 200
        deliver_all(Deliverer(services, fast()))
    events = sorted(receiver.events(), key=lambda e: e["created_at"])
    assert [(e["type"], e["data"].get("party", {}).get("role"), e["data"].get("party", {}).get("signer")) for e in events] == [
        ("document.signed", "applicant", "陈*兰"), ("document.signed", "handler", "郭文斌"), ("document.completed", None, None)]
    assert [e["data"]["document"]["revision"] for e in events] == [1, 2, 2]
    assert events[-1]["data"]["document"]["status"] == "completed" and all(r.verified for r in receiver.received)
    assert "陈秀兰" not in json.dumps(events, ensure_ascii=False)


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt_after_the_backoff(client, services):
    clock = Clock(services.now().tzinfo)
    services.clock = clock
    with Receiver(statuses=(500, 503)) as receiver:
        hook = subscribe(client, receiver)
        publish(services, "document.issued", {"document": {"id": "d1"}}, agency="jc-market", form="liaison-form")
        deliverer = Deliverer(services, fast())
        assert deliverer.run_once() == 1
        clock.advance(9 * SECONDS)
        assert deliverer.run_once() == 0  # the first step of the backoff is 10 s
        clock.advance(1 * SECONDS)
        assert deliverer.run_once() == 1
        clock.advance(29 * SECONDS)
        assert deliverer.run_once() == 0  # then 30 s
        clock.advance(1 * SECONDS)
        assert deliverer.run_once() == 1
        assert deliverer.run_once() == 0
    assert len(receiver.received) == 3 and all(r.verified for r in receiver.received)
    assert len({r.event["id"] for r in receiver.received}) == 1  # the same event, each attempt signed afresh
    assert len({r.headers[HEADER] for r in receiver.received}) == 3
    (delivery,) = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json["deliveries"]
    assert (delivery["state"], delivery["attempts"], delivery["next_attempt_at"]) == ("delivered", 3, None)
    assert [(a["number"], a["status"]) for a in delivery["log"]] == [(1, 500), (2, 503), (3, 200)]
    assert delivery["log"][0]["error"] == "HTTP 500 / HTTP 500"


def test_a_delivery_fails_after_the_last_step_of_the_backoff(client, services):
    clock = Clock(services.now().tzinfo)
    services.clock = clock
    with Receiver(statuses=(500,) * 10) as receiver:
        subscribe(client, receiver)
        publish(services, "document.issued", {"document": {"id": "d1"}}, agency="jc-market", form="liaison-form")
        deliverer = Deliverer(services, fast(backoff=(10 * SECONDS,)))
        assert deliverer.run_once() == 1
        clock.advance(10 * SECONDS)
        assert deliverer.run_once() == 1
        clock.advance(dt.timedelta(days=1))
        assert deliverer.run_once() == 0
    (row,) = deliveries(services)
    assert (row.state, row.attempts, row.next_attempt_at, row.last_status) == ("failed", 2, None, 500)
    assert len(receiver.received) == 2


def test_a_receiver_that_is_down_never_blocks_or_fails_issuing(client, services):
    with Silent() as silent:
        subscribe(client, silent, ["document.issued"])
        client.post("/api/v1/webhooks", json={"url": closed_port_url(), "events": ["document.issued"]})
        deliverer = Deliverer(services, fast(timeout=5.0, backoff=(dt.timedelta(hours=1),)))
        deliverer.start()  # in the background, as 'serve' runs it
        try:
            durations = []
            for _ in range(3):
                started = time.monotonic()
                response = client.post("/api/v1/documents", json={"form": "liaison-form", "agency": "jc-market", "data": sample("liaison-form")})
                durations.append(time.monotonic() - started)
                assert response.status_code == 201
            deadline = time.monotonic() + 30
            while any(r.attempts == 0 for r in deliveries(services)) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            deliverer.stop()
    assert max(durations) < 2.5, durations  # issuing never waited for the silent receiver's 5 s
    rows = deliveries(services)
    assert len(rows) == 6 and {r.state for r in rows} == {"pending"} and {r.attempts for r in rows} == {1}
    assert {r.last_error for r in rows} == {"5 秒内未应答 / no answer within 5 s", "无法连接 / could not connect"}
    assert all(r.next_attempt_at > r.last_attempt_at for r in rows)


def test_a_failure_to_record_an_event_never_fails_issuing(client, services, monkeypatch, caplog):
    client.post("/api/v1/webhooks", json={"url": "https://example.org/hook", "events": ["*"]})

    def broken(**kwargs):
        raise RuntimeError("the outbox is gone")

    monkeypatch.setattr(services.webhooks, "enqueue", broken)
    response = client.post("/api/v1/documents", json={"form": "liaison-form", "agency": "jc-market", "data": sample("liaison-form")})
    assert response.status_code == 201
    assert "could not record the document.issued event" in caplog.text


def test_events_reach_only_keys_that_may_act_for_the_documents_agency_and_form(app, services):
    with Receiver() as everything, Receiver() as market, Receiver() as justice, Receiver() as liaison_only:
        for receiver, agencies, forms in ((everything, None, ("*",)), (market, ["jc-market"], ("*",)),
                                          (justice, ["jc-justice"], ("*",)), (liaison_only, ["jc-market"], ("commitment-letter",))):
            _, key = key_principal(services, agencies=agencies, forms=forms)
            subscribe(keyed_client(app, key), receiver, ["document.issued"])
        operator_document(services, agency="jc-market", form="liaison-form")
        deliver_all(Deliverer(services, fast()))
    assert [len(r.received) for r in (everything, market, justice, liaison_only)] == [1, 1, 0, 0]


def test_a_deleted_webhook_gets_nothing_more_and_its_pending_deliveries_are_cancelled(client, services):
    with Receiver() as receiver:
        hook = subscribe(client, receiver, ["document.issued"])
        operator_document(services)
        assert client.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
        operator_document(services)
        assert deliver_all(Deliverer(services, fast())) == 0
    (row,) = deliveries(services)
    assert (row.state, row.last_error) == ("failed", CANCELLED)
    assert receiver.received == []


def test_an_event_queued_just_before_its_webhook_went_is_not_sent(app, client, services):
    """A key revoked (or a webhook deleted) between publishing and delivering: the delivery ends unsent."""
    with Receiver() as receiver:
        principal, key = key_principal(services, name="将被吊销")
        subscribe(keyed_client(app, key), receiver, ["document.issued"])
        operator_document(services)
        services.api_keys.revoke(principal.id, services.now())
        assert deliver_all(Deliverer(services, fast())) == 1
    (row,) = deliveries(services)
    assert (row.state, row.attempts, row.last_error) == ("failed", 0, CANCELLED)
    assert receiver.received == []


def test_the_signing_flow_publishes_signed_and_completed_with_the_party(client, services):
    with Receiver() as receiver:
        subscribe(client, receiver, ["document.signed", "document.completed"])
        document = operator_document(services, form="commitment-letter")  # awaiting the applicant's signature
        signed_at = dt.datetime(2026, 3, 16, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        assert document_signed(services, document, party="applicant", label="申请人签名", signed_at=signed_at, signer="陈*兰")
        assert document_completed(services, document)
        deliver_all(Deliverer(services, fast()))
    signed, completed = sorted(receiver.events(), key=lambda e: e["type"], reverse=True)
    assert signed["type"] == "document.signed" and completed["type"] == "document.completed"
    assert signed["data"]["party"] == {"role": "applicant", "label": "申请人签名", "signer": "陈*兰", "signed_at": "2026-03-16T01:30:00Z"}
    assert signed["data"]["document"]["id"] == completed["data"]["document"]["id"] == document.id


# --- several processes on one database ----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_settings(request, tmp_path):
    """Settings for two processes on one database (the sealing key configured, as a deployment of several nodes does)."""
    environ = {"CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_WEBHOOK_KEY": "q1y0YjH0mXwq8c3XG1dZ0cL8oJ8WmJmR2y4cQkq9s1E"}
    if request.param == "postgresql":
        environ["CHENGNUO_DATABASE_URL"] = request.getfixturevalue("pg_url")
    return load_settings(environ=environ)


def test_two_deliverers_on_one_database_deliver_each_event_once(shared_settings, sandbox):
    first, second = (build_services(shared_settings, converter=BlankPdfConverter(), sandbox=sandbox) for _ in range(2))
    for services in (first, second):
        services.signer = UnsignedSigner()  # type: ignore[assignment]
    try:
        with Receiver() as receiver:
            principal, _ = key_principal(first)
            _, receiver.secret = create_webhook(first, principal, receiver.url, ["*"])
            for n in range(40):
                publish(first if n % 2 else second, "document.issued", {"document": {"id": f"d{n}"}}, agency="jc-market", form="liaison-form")
            deliverers = [Deliverer(s, fast()) for s in (first, second, first, second)]
            threads = [threading.Thread(target=deliver_all, args=(d, 100)) for d in deliverers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        ids = [e["id"] for e in receiver.events()]
        assert len(ids) == 40 and len(set(ids)) == 40 and all(r.verified for r in receiver.received)
        with first.registry.engine.connect() as conn:
            assert conn.execute(select(webhook_attempts)).all().__len__() == 40
        assert {(r.state, r.attempts) for r in deliveries(first)} == {("delivered", 1)}
    finally:
        for services in (first, second):
            services.instances.close()
            services.registry.engine.dispose()


@pytest.mark.slow
def test_serve_delivers_in_the_background(tmp_path):
    """``python -m service serve`` runs the deliverer: a letter issued over HTTP reaches the receiver, signed."""
    import subprocess
    import sys
    import urllib.request

    from .conftest import ROOT
    from .servers import ServiceProcess

    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_CONVERTER_WORKERS": "1"}
    key = subprocess.run([sys.executable, "-m", "service", "key", "add", "--agency", "jc-market", "--name", "回调测试"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout.strip().splitlines()[-1]
    service = ServiceProcess(env, ROOT)
    service.start()

    def call(path: str, body: dict) -> dict:
        request = urllib.request.Request(f"{service.base}{path}", data=json.dumps(body).encode(), method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)

    try:
        with Receiver() as receiver:
            receiver.secret = call("/api/v1/webhooks", {"url": receiver.url, "events": ["document.issued"]})["secret"]
            issued = call("/api/v1/documents", {"form": "liaison-form", "data": sample("liaison-form")})
            deadline = time.monotonic() + 30
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        output = service.stop()
    assert [(r.verified, r.event["type"], r.event["data"]["document"]["id"]) for r in receiver.received] == [
        (True, "document.issued", issued["id"])], output
    assert receiver.secret not in output
