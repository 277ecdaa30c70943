"""Schemathesis against /api/openapi.json: generated requests find no 500 and no answer that breaks
the documented schema. Bounded: a few examples per operation, no shrinking. The successful answers, which
generated data rarely reaches, are checked against the same document; validation errors are our envelope."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service import create_app

from .conftest import sample

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def test_no_server_error_and_answers_match_the_schema(services, api_key):
    app = create_app(services=services)
    document = app.test_client().get("/api/openapi.json").json
    operations = [(path, method) for path, ops in document["paths"].items() for method in ops if method in HTTP_METHODS]
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {api_key}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                  database=None)
        def exercise(case) -> None:
            # Form data that fits its JSON Schema can still break a rule the schema cannot say (a check digit,
            # a deadline after a date): a 422 for it is right, so "schema-valid data accepted" is not checked.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        exercise()
        checked.append((operation.path, operation.method.lower()))
    assert sorted(checked) == sorted(operations)


def _admin_session(app, services):
    """A signed-in administrator and the headers its changes carry (the CSRF token)."""
    import re

    from service import admin
    from service.auth.principal import OPERATOR

    _, password = admin.add_user(services, OPERATOR, "root", "admin", None)
    session = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get("/login").get_data(as_text=True)).group(1)
    assert session.post("/login", data={"username": "root", "password": password, "csrf_token": token}).status_code == 302
    with session.session_transaction() as cookie:
        return session, {"X-CSRF-Token": cookie["csrf"]}


def test_answers_on_the_happy_paths_match_the_generated_document(app, client, anonymous, services):
    """Generated requests rarely succeed (random form data is refused): every success answer is checked here."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)

    def check(path: str, method: str, response, status: int):
        assert response.status_code == status, response.get_data(as_text=True)
        schema[path][method].validate_response(response)
        return response.json

    check("/api/v1/forms", "GET", client.get("/api/v1/forms"), 200)
    check("/api/v1/forms/{form_id}", "GET", client.get("/api/v1/forms/commitment-letter"), 200)
    issued = check("/api/v1/documents", "POST", client.post("/api/v1/documents", json={"form": "commitment-letter", "data": sample("commitment-letter")},
                                                            headers={"Idempotency-Key": "contract-1"}), 201)
    check("/api/v1/documents/{document_id}", "GET", client.get(f"/api/v1/documents/{issued['id']}"), 200)
    pdf = client.get(issued["links"]["pdf"])
    check("/api/v1/documents/{document_id}/pdf", "GET", pdf, 200)
    check("/api/v1/verifications", "POST", anonymous.post("/api/v1/verifications", data=pdf.data, content_type="application/pdf"), 200)
    check("/api/v1/documents/{document_id}/void", "POST", client.post(f"/api/v1/documents/{issued['id']}/void", json={"reason": "测试"}), 200)
    check("/api/v1/verifications", "POST", anonymous.post("/api/v1/verifications", data=pdf.data, content_type="application/pdf"), 200)
    check("/healthz", "GET", anonymous.get("/healthz"), 200)

    session, csrf = _admin_session(app, services)
    check("/api/v1/users", "POST", session.post("/api/v1/users", json={"username": "wang", "role": "clerk", "agency": "jc-market"}, headers=csrf), 201)
    check("/api/v1/users", "GET", session.get("/api/v1/users"), 200)
    key = check("/api/v1/keys", "POST", session.post("/api/v1/keys", json={"name": "案件系统", "agencies": ["jc-market"]}, headers=csrf), 201)
    check("/api/v1/keys", "GET", session.get("/api/v1/keys"), 200)
    check("/api/v1/keys/{key_id}/revoke", "POST", session.post(f"/api/v1/keys/{key['id']}/revoke", headers=csrf), 200)


def test_validation_errors_are_our_envelope_with_flat_paths(client, anonymous):
    refused = client.post("/api/v1/documents", json={"form": 1, "agency": "nope", "data": [], "extra": True})
    assert refused.status_code == 422
    assert refused.json == {
        "error": "invalid_data",
        "message": "数据校验未通过 / the data is invalid",
        "errors": {"form": ["应为文本 / must be a string"], "agency": ["未配置该行政机关 / unknown agency"],
                   "data": ["应为 JSON 对象 / must be a JSON object"], "extra": ["未定义的字段 / unknown field"]},
    }
    keys = client.post("/api/v1/keys", json={"name": " ", "agencies": ["jc-market", 7]})
    assert keys.status_code == 422 and set(keys.json["errors"]) == {"name", "agencies.1"}
    header = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")}, headers={"Idempotency-Key": "x" * 201})
    assert header.status_code == 400 and header.json["error"] == "invalid_request"
    assert header.json["errors"] == {"Idempotency-Key": ["Idempotency-Key 须为 1–200 个可打印字符 / Idempotency-Key must be 1–200 printable characters"]}
    # No credentials: refused before the body is looked at, so validation tells an anonymous caller nothing.
    assert anonymous.post("/api/v1/documents", json={"form": "liaison-form", "agency": "nope", "data": {}}).status_code == 401
