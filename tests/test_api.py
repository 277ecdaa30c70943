"""The HTTP contract of DESIGN.md: catalogue, issuing, errors, idempotency, request ids, OpenAPI."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from service.forms import CATALOGUE

from .conftest import keyed_client, sample

pytestmark = pytest.mark.doubles  # the HTTP layer and the access rules; conversion and signing are tested end to end elsewhere


def test_catalogue_lists_every_form_with_title_and_source(client):
    forms = client.get("/api/v1/forms").json["forms"]
    assert [f["id"] for f in forms] == list(CATALOGUE)
    assert all(f["title"] and f["source"] for f in forms)


def test_form_endpoint_gives_json_schema_and_a_sample(client):
    body = client.get("/api/v1/forms/commitment-letter").json
    assert body["schema"]["type"] == "object"
    assert body["schema"]["additionalProperties"] is False
    assert body["sample"] == sample("commitment-letter")
    assert all("title" in prop for prop in body["schema"]["properties"].values())


def test_unknown_form_is_404_with_bilingual_message(client):
    response = client.get("/api/v1/forms/no-such-form")
    assert response.status_code == 404
    assert response.json["error"] == "unknown_form"
    assert " / " in response.json["message"]


def test_invalid_data_lists_every_bad_field_by_path_in_both_languages(client):
    data = sample("liaison-form")
    data["department"] = "   "
    data["head"]["phone"] = "138-1234"
    data["liaison"].pop("name")
    data["extra"] = 1
    response = client.post("/api/v1/documents", json={"form": "liaison-form", "data": data})
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"department", "head.phone", "liaison.name", "extra"}
    for messages in errors.values():
        assert all(" / " in m and any("\u4e00" <= c <= "\u9fff" for c in m) for m in messages)


def test_bad_envelope_is_422_and_bad_json_is_400(client):
    assert client.post("/api/v1/documents", json={"form": "nope", "data": {}}).json["errors"].keys() == {"form"}
    assert client.post("/api/v1/documents", json={"form": "liaison-form", "agency": "nope", "data": sample("liaison-form")}).status_code == 422
    assert client.post("/api/v1/documents", json=[1, 2]).status_code == 422
    response = client.post("/api/v1/documents", data=b"{not json", content_type="application/json")
    assert response.status_code == 400 and response.json["error"] == "invalid_json"
    assert client.post("/api/v1/documents", data=b"\xff\xfe", content_type="application/json").status_code == 400


def test_oversized_body_is_413(client, app):
    big = b"{" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 10) + b"}"
    response = client.post("/api/v1/documents", data=big, content_type="application/json")
    assert response.status_code == 413 and response.json["error"] == "request_entity_too_large"


def test_issued_document_metadata_pdf_and_docx(client):
    created = client.post("/api/v1/documents", json={"form": "liaison-form", "agency": "jc-market", "data": sample("liaison-form")})
    assert created.status_code == 201
    body = created.json
    assert created.headers["Location"] == f"/api/v1/documents/{body['id']}"
    assert body["agency"] == "jc-market"
    assert body["links"]["verify"] == f"http://127.0.0.1:8000/v/{body['serial']}"
    assert client.get(f"/api/v1/documents/{body['id']}").json == body
    pdf = client.get(body["links"]["pdf"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    import hashlib

    assert hashlib.sha256(pdf.data).hexdigest() == body["sha256"]
    docx = client.get(body["links"]["docx"])
    assert docx.status_code == 200 and docx.data[:2] == b"PK"
    assert client.get("/api/v1/documents/does-not-exist").status_code == 404


def test_idempotency_key_returns_the_first_document_and_refuses_another_body(client):
    payload = {"form": "liaison-form", "data": sample("liaison-form")}
    first = client.post("/api/v1/documents", json=payload, headers={"Idempotency-Key": "case-778-try"})
    again = client.post("/api/v1/documents", json=payload, headers={"Idempotency-Key": "case-778-try"})
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = dict(payload, data=dict(payload["data"], department="另一个科室"))
    conflict = client.post("/api/v1/documents", json=other, headers={"Idempotency-Key": "case-778-try"})
    assert conflict.status_code == 409 and conflict.json["error"] == "idempotency_key_reused"
    listed = client.application.extensions["chengnuo"].registry.list()
    assert len(listed) == 1


def test_concurrent_retries_with_one_key_issue_one_document(app, api_key):
    payload = {"form": "liaison-form", "data": sample("liaison-form")}
    ids: list[str] = []

    def post() -> None:
        response = keyed_client(app, api_key).post("/api/v1/documents", json=payload, headers={"Idempotency-Key": "burst-1"})
        ids.append((response.status_code, response.json["id"]))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in ids} == {201}
    assert len({doc_id for _, doc_id in ids}) == 1
    assert len(app.extensions["chengnuo"].registry.list()) == 1


def test_every_response_carries_a_request_id(client):
    assert len(client.get("/api/v1/forms").headers["X-Request-ID"]) == 32
    assert client.get("/api/v1/forms", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert client.get("/nowhere").headers["X-Request-ID"]
    assert client.get("/nowhere").json["error"] == "not_found"


def test_request_id_reaches_the_logs(client, caplog):
    caplog.set_level("INFO")
    client.post("/api/v1/documents", json={"form": "liaison-form", "data": {}}, headers={"X-Request-ID": "trace-42"})
    lines = [r.getMessage() for r in caplog.records if getattr(r, "request_id", None) == "trace-42"]
    assert any("POST /api/v1/documents 422" in line for line in lines)


def test_openapi_describes_every_route(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/forms", "/api/v1/forms/{form_id}", "/api/v1/documents", "/api/v1/documents/{document_id}",
            "/api/v1/documents/{document_id}/pdf", "/api/v1/documents/{document_id}/docx", "/v/{serial}", "/healthz"} <= set(spec["paths"])


@pytest.mark.office  # the real converter's pool in the report
def test_healthz_reports_registry_storage_templates_and_converter(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    checks = response.json["checks"]
    assert checks["registry"]["ok"] and checks["storage"]["ok"] and checks["templates"]["ok"]
    assert checks["converter"]["workers"] == 2


def test_public_page_shows_no_personal_data(client):
    data = sample("commitment-letter")
    body = client.post("/api/v1/documents", json={"form": "commitment-letter", "data": data}).json
    page = client.get(f"/v/{body['serial']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert body["serial"] in html and body["number"] in html and "证明事项告知承诺书" in html
    assert data["applicant"]["id_number"] not in html and data["applicant"]["name"] not in html
    assert client.get("/v/2026-99999999-XXXX").status_code == 404


def test_times_are_returned_with_their_offset(client):
    body = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")}).json
    import datetime as dt

    created = dt.datetime.fromisoformat(body["created_at"])
    issued = dt.datetime.fromisoformat(body["issued_at"])
    assert created.utcoffset() == dt.timedelta(0) and issued >= created
    assert abs(dt.datetime.now(dt.UTC) - issued) < dt.timedelta(minutes=5)


@pytest.mark.office  # a real signature, verified as valid
def test_metrics_count_documents_stages_and_verifications(client, anonymous):
    body = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")}).json
    client.post("/api/v1/documents", json={"form": "liaison-form", "data": {}})
    anonymous.post("/api/v1/verifications", data=client.get(body["links"]["pdf"]).data, content_type="application/pdf")
    text = anonymous.get("/metrics").get_data(as_text=True)
    assert 'chengnuo_documents_issued_total{form="liaison-form"} 1.0' in text
    for stage in ("validate", "number", "render", "convert", "sign", "store"):
        assert f'chengnuo_stage_seconds_count{{stage="{stage}"}} 1.0' in text
    assert 'chengnuo_verifications_total{verdict="valid"} 1.0' in text
    assert "chengnuo_converter_queue_depth 0.0" in text and "chengnuo_converter_worker_restarts_total" in text


def test_a_full_converter_queue_answers_429_with_retry_after(app, client, services, monkeypatch):
    from service.errors import ConverterBusy

    def busy(docx: bytes) -> bytes:
        raise ConverterBusy("文档转换繁忙，请稍后重试", "all converters are busy and the queue is full; retry later", retry_after=3)

    monkeypatch.setattr(services.converter, "convert", busy)
    response = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert response.status_code == 429 and response.headers["Retry-After"] == "3" and response.json["error"] == "converter_busy"


def test_json_nested_past_reason_is_a_400_not_a_500(client):
    deep = "[" * 50000 + "]" * 50000
    for path in ("/api/v1/documents", "/api/v1/keys", "/api/v1/documents/x/void"):
        response = client.post(path, data=deep, content_type="application/json")
        assert response.status_code == 400 and response.json["error"] == "invalid_json", path
    value = "x"
    for _ in range(40):
        value = [value]
    nested = {"form": "liaison-form", "data": {"department": value}}
    assert client.post("/api/v1/documents", json=nested).status_code == 400


def test_an_idempotency_key_expires_after_its_time_and_is_pruned(client, services):
    from service.housekeeping import Housekeeping

    body = {"form": "liaison-form", "agency": "jc-market", "data": sample("liaison-form")}
    first = client.post("/api/v1/documents", json=body, headers={"Idempotency-Key": "k-expiring"})
    assert first.status_code == 201
    real = services.clock
    try:
        services.clock = lambda: real() + dt.timedelta(hours=23)
        assert client.post("/api/v1/documents", json=body, headers={"Idempotency-Key": "k-expiring"}).headers["Idempotent-Replayed"] == "true"
        services.clock = lambda: real() + dt.timedelta(hours=25)  # CHENGNUO_IDEMPOTENCY_TTL_HOURS defaults to 24
        again = client.post("/api/v1/documents", json=body, headers={"Idempotency-Key": "k-expiring"})
        assert again.status_code == 201 and again.json["id"] != first.json["id"] and "Idempotent-Replayed" not in again.headers
        services.clock = lambda: real() + dt.timedelta(hours=50)
        Housekeeping(services).run_once()
    finally:
        services.clock = real
    with services.registry.engine.connect() as conn:
        from sqlalchemy import func, select

        from service.registry.tables import idempotency_keys

        assert conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one() == 0
