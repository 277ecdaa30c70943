"""Who may do what: API keys scoped to agencies and forms, people with roles and sessions, CSRF,
lock-out, rate limits on public endpoints, masked personal data, and the audit trail."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import re
import subprocess
import sys
import threading

import pytest
from sqlalchemy import select, update

from service import admin, create_app
from service.auth.principal import OPERATOR
from service.issuing import issue
from service.registry.tables import audit_log, users
from service.runtime import build_services

from .conftest import ROOT, keyed_client, sample

pytestmark = pytest.mark.doubles  # the HTTP layer and the access rules; conversion and signing are tested end to end elsewhere


def scoped_key(services, agencies, forms=("*",), name="案件系统"):
    _, key = services.api_keys.create(name=name, agencies=agencies, forms=forms, now=services.now())
    return key


def operator_document(services, agency="jc-market", form="liaison-form"):
    return issue(services, form, sample(form), principal=OPERATOR, agency_id=agency).document


def sign_in(app, username, password, *, address="127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return client, response


def csrf_of(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


# --- calling systems ---------------------------------------------------------------------------------


def test_documents_need_credentials(anonymous, services):
    document = operator_document(services)
    response = anonymous.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.get(f"/api/v1/documents/{document.id}").status_code == 401
    assert anonymous.get(f"/api/v1/documents/{document.id}/pdf").status_code == 401


def test_a_wrong_or_revoked_key_is_refused(app, services):
    assert keyed_client(app, "cnk_000000000000_" + "x" * 43).get("/api/v1/documents/x").status_code == 401
    assert keyed_client(app, "not-a-key").get("/api/v1/documents/x").status_code == 401
    record, key = services.api_keys.create(name="旧系统", agencies=["jc-justice"], forms=["*"], now=services.now())
    client = keyed_client(app, key)
    assert client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")}).status_code == 201
    services.api_keys.revoke(record.id, services.now())
    refused = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert refused.status_code == 401 and refused.json["error"] == "invalid_api_key"


def test_a_key_for_agency_a_cannot_touch_agency_b(app, services):
    theirs = operator_document(services, agency="jc-market")
    client = keyed_client(app, scoped_key(services, ["jc-justice"]))
    issued = client.post("/api/v1/documents", json={"form": "liaison-form", "agency": "jc-market", "data": sample("liaison-form")})
    assert issued.status_code == 403 and issued.json["error"] == "forbidden"
    for path in (f"/api/v1/documents/{theirs.id}", f"/api/v1/documents/{theirs.id}/pdf", f"/api/v1/documents/{theirs.id}/docx"):
        assert client.get(path).status_code == 404
    voided = client.post(f"/api/v1/documents/{theirs.id}/void", json={"reason": "试图作废他人文书"})
    assert voided.status_code == 404
    assert services.registry.get(theirs.id).status == "completed"  # the liaison form: nobody else signs


def test_a_key_is_held_to_its_forms_and_issues_for_its_only_agency(app, services):
    client = keyed_client(app, scoped_key(services, ["jc-market"], forms=["liaison-form"]))
    mine = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert mine.status_code == 201 and mine.json["agency"] == "jc-market"
    other_form = client.post("/api/v1/documents", json={"form": "assistance-reply", "data": sample("assistance-reply")})
    assert other_form.status_code == 403


def test_a_form_scoped_key_lists_and_counts_only_its_forms(app, services):
    letter = issue(services, "commitment-letter", sample("commitment-letter"), principal=OPERATOR, agency_id="jc-justice").document
    liaison = operator_document(services, agency="jc-justice", form="liaison-form")
    client = keyed_client(app, scoped_key(services, ["jc-justice"], forms=["liaison-form"]))
    assert client.get(f"/api/v1/documents/{letter.id}").status_code == 404
    for query in ("", f"?q={letter.serial}", f"?q={letter.number}", "?form=commitment-letter", "?q=陈秀兰"):
        page = client.get(f"/documents{query}").get_data(as_text=True)
        results = page[page.index("<tbody>"):page.index("</tbody>")]
        assert letter.serial not in results and letter.id not in results and "陈秀兰" not in results, query
        assert "共 0 件" in page or "共 1 件" in page
    listed = client.get("/documents").get_data(as_text=True)
    assert liaison.serial in listed and "共 1 件" in listed
    assert "证明事项告知承诺书" not in listed  # not even offered as a filter


def test_idempotency_keys_are_private_to_each_caller(app, services):
    payload = {"form": "liaison-form", "data": sample("liaison-form")}
    first = keyed_client(app, scoped_key(services, ["jc-justice"])).post("/api/v1/documents", json=payload, headers={"Idempotency-Key": "k1"})
    second = keyed_client(app, scoped_key(services, ["jc-justice"])).post("/api/v1/documents", json=payload, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201 and first.json["id"] != second.json["id"]


# --- people ------------------------------------------------------------------------------------------


@pytest.fixture
def people(services):
    made = {}
    for name, role, agency in (("zhang", "clerk", "jc-justice"), ("li", "supervisor", "jc-justice"), ("root", "admin", None)):
        _, made[name] = admin.add_user(services, OPERATOR, name, role, agency)
    return made


def test_a_clerk_issues_and_downloads_for_their_agency_but_cannot_void(app, services, people):
    client, response = sign_in(app, "zhang", people["zhang"])
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    headers = {"X-CSRF-Token": csrf_of(client)}
    issued = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")}, headers=headers)
    assert issued.status_code == 201 and issued.json["agency"] == "jc-justice"
    assert client.get(issued.json["links"]["pdf"]).status_code == 200
    refused = client.post(f"/api/v1/documents/{issued.json['id']}/void", json={"reason": "错误"}, headers=headers)
    assert refused.status_code == 403
    theirs = operator_document(services, agency="jc-market")
    assert client.get(f"/api/v1/documents/{theirs.id}").status_code == 404
    assert client.get("/api/v1/users").status_code == 403


def test_a_supervisor_voids_and_an_administrator_manages_keys(app, services, people):
    supervisor, _ = sign_in(app, "li", people["li"])
    document = operator_document(services, agency="jc-justice")
    voided = supervisor.post(f"/api/v1/documents/{document.id}/void", json={"reason": "填写错误"}, headers={"X-CSRF-Token": csrf_of(supervisor)})
    assert voided.status_code == 200 and voided.json["status"] == "voided"

    admin, _ = sign_in(app, "root", people["root"])
    headers = {"X-CSRF-Token": csrf_of(admin)}
    created = admin.post("/api/v1/keys", json={"name": "婚姻登记系统", "agencies": ["jc-justice"]}, headers=headers)
    assert created.status_code == 201 and created.json["key"].startswith("cnk_")
    listed = admin.get("/api/v1/keys").json["keys"]
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    key_id = created.json["id"]
    assert admin.post(f"/api/v1/keys/{key_id}/revoke", headers=headers).json["revoked_at"]
    user = admin.post("/api/v1/users", json={"username": "wang", "role": "clerk", "agency": "jc-market"}, headers=headers)
    assert user.status_code == 201 and len(user.json["password"]) >= 16
    assert admin.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")}, headers=headers).status_code == 403


@pytest.mark.parametrize(("proxies", "headers", "secure"), [
    (1, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.9"}, True),
    (1, {}, False),
    (0, {"X-Forwarded-Proto": "https"}, False),  # nobody trusted: the header is anyone's
])
def test_the_session_cookie_is_secure_behind_a_trusted_https_proxy(services, settings, proxies, headers, secure):
    proxied = create_app(services=build_services(dataclasses.replace(settings, trusted_proxies=proxies),
                                                 converter=services.converter, sandbox=services.sandbox))
    _, password = admin.add_user(services, OPERATOR, "zhao", "clerk", "jc-justice")
    client = proxied.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login", headers=headers).get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": "zhao", "password": password, "csrf_token": token}, headers=headers)
    assert response.status_code == 302
    assert ("; Secure" in response.headers["Set-Cookie"]) is secure


def test_a_cookie_session_needs_the_csrf_token_for_changes(app, people):
    client, _ = sign_in(app, "zhang", people["zhang"])
    forged = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert forged.status_code == 403 and forged.json["error"] == "csrf_failed"
    wrong = client.post("/logout", data={"csrf_token": "guess"})
    assert wrong.status_code == 403
    login_page = app.test_client()
    login_page.get("/login")
    assert login_page.post("/login", data={"username": "zhang", "password": people["zhang"], "csrf_token": "x"}).status_code == 403


def _alert(response) -> str:
    return re.search(r'role="alert">(.*?)</p>', response.get_data(as_text=True), re.S).group(1)


def test_repeated_failed_sign_ins_lock_the_account(app, services, people):
    for _ in range(5):
        _, response = sign_in(app, "zhang", "wrong password")
        assert response.status_code == 401
    _, locked = sign_in(app, "zhang", people["zhang"], address="10.0.0.2")
    assert locked.status_code == 401 and "锁定" in _alert(locked)
    assert services.audit.entries(limit=1, action="login")[0].detail["cause"] == "locked"


def test_a_locked_account_answers_like_an_unknown_user_name(app, people):
    for _ in range(5):
        sign_in(app, "zhang", "wrong password")
    _, locked = sign_in(app, "zhang", people["zhang"], address="10.0.0.2")
    _, unknown = sign_in(app, "nobody", "whatever", address="10.0.0.3")
    assert (locked.status_code, _alert(locked)) == (unknown.status_code, _alert(unknown))
    assert sorted(locked.headers.keys()) == sorted(unknown.headers.keys())


def test_parallel_wrong_passwords_from_many_addresses_all_count(app, services, people):
    """20 guesses at once, each from its own address (so no rate limit applies): every one counts, the
    account locks, and the right password is then refused."""
    barrier = threading.Barrier(20)
    clients = []
    for n in range(20):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.1.0.{n + 1}"
        page = client.get("/login").get_data(as_text=True)
        clients.append((client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)))

    def guess(client_and_token):
        client, token = client_and_token
        barrier.wait()
        return client.post("/login", data={"username": "zhang", "password": "wrong", "csrf_token": token}).status_code

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        assert list(pool.map(guess, clients)) == [401] * 20
    _, right = sign_in(app, "zhang", people["zhang"], address="10.2.0.1")
    assert right.status_code == 401
    with services.registry.engine.connect() as conn:
        row = conn.execute(select(users.c.failed_logins, users.c.locked_until).where(users.c.username == "zhang")).one()
    assert row.failed_logins >= 5 and row.locked_until is not None


def test_sign_in_attempts_are_rate_limited_per_address(app, people):
    """CHENGNUO_LOGIN_RATE_LIMIT (10 per minute): the 11th attempt from one address gets 429 on the sign-in page."""
    statuses = [sign_in(app, "nobody", "wrong", address="10.3.0.1")[1] for _ in range(12)]
    assert [r.status_code for r in statuses] == [401] * 10 + [429] * 2
    assert statuses[-1].headers["Retry-After"] and "频繁" in _alert(statuses[-1])
    assert sign_in(app, "zhang", people["zhang"], address="10.3.0.2")[1].status_code == 302


# --- the public --------------------------------------------------------------------------------------


def test_public_endpoints_are_rate_limited_per_client(services, settings):
    limited = create_app(services=build_services(dataclasses.replace(settings, public_rate_limit="3 per minute"),
                                                 converter=services.converter, sandbox=services.sandbox))
    one, other = limited.test_client(), limited.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    statuses = [one.post("/api/v1/verifications", data=b"%PDF-1.7 junk", content_type="application/pdf").status_code for _ in range(5)]
    assert statuses[:3] == [422, 422, 422] and statuses[3:] == [429, 429]
    pages = [one.get("/v/2026-00000001-AAAA") for _ in range(4)]
    assert [p.status_code for p in pages] == [404, 404, 404, 429] and pages[-1].headers["Retry-After"]
    assert other.post("/api/v1/verifications", data=b"%PDF-1.7 junk", content_type="application/pdf").status_code == 422


def test_the_qr_page_masks_personal_data(client, anonymous):
    data = sample("commitment-letter")
    body = client.post("/api/v1/documents", json={"form": "commitment-letter", "data": data}).json
    html = anonymous.get(f"/v/{body['serial']}").get_data(as_text=True)
    number, phone, name = data["applicant"]["id_number"], data["applicant"]["phone"], data["applicant"]["name"]
    assert number not in html and phone not in html and name not in html
    assert f"{number[:4]}{'*' * 10}{number[-4:]}" in html and f"{phone[:3]}****{phone[-4:]}" in html
    assert f"{name[0]}*{name[-1]}" in html


# --- audit trail ---------------------------------------------------------------------------------------


@pytest.mark.office  # a real signature, verified as valid
def test_every_act_is_audited_without_secrets_or_id_numbers(app, services, api_key, people, caplog, anonymous):
    caplog.set_level("DEBUG")
    client = keyed_client(app, api_key)
    data = sample("commitment-letter")
    body = client.post("/api/v1/documents", json={"form": "commitment-letter", "data": data}).json
    pdf = client.get(body["links"]["pdf"]).data
    anonymous.post("/api/v1/verifications", data=pdf, content_type="application/pdf")
    client.post(f"/api/v1/documents/{body['id']}/void", json={"reason": "测试作废"})
    sign_in(app, "zhang", "wrong")
    sign_in(app, "zhang", people["zhang"])
    actions = [(e.action, e.outcome) for e in reversed(services.audit.entries(limit=50))]
    for expected in (("user.add", "success"), ("issue", "success"), ("download", "success"), ("verify", "valid"),
                     ("void", "success"), ("login", "failure"), ("login", "success")):
        assert expected in actions
    issued = next(e for e in services.audit.entries(action="issue"))
    assert issued.actor.startswith("key:") and issued.object == f"document:{body['id']}" and issued.detail["serial"] == body["serial"]
    stored = json.dumps([dataclasses.asdict(e) for e in services.audit.entries(limit=100)], ensure_ascii=False, default=str)
    for secret in (api_key, people["zhang"], data["applicant"]["id_number"]):
        assert secret not in stored and secret not in caplog.text
    assert services.audit.verify().ok


def test_audit_verify_names_the_first_altered_entry(services, settings):
    for i in range(3):
        services.audit.record(actor="operator:cli", action="test", object=f"object:{i}", outcome="success")
    env = {"CHENGNUO_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin"}
    run = lambda: subprocess.run([sys.executable, "-m", "service", "audit", "verify"], cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: E731
    intact = run()
    assert intact.returncode == 0 and "intact" in intact.stdout
    second = services.audit.entries(action="test")[1]
    with services.registry.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == second.seq).values(outcome="failure"))
    broken = run()
    assert broken.returncode == 1 and str(second.seq) in broken.stdout
