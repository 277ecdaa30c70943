"""The pages through the test client: what the browser tests do not reach."""

from __future__ import annotations

import re

import pytest

from service import admin
from service.auth.principal import OPERATOR
from service.issuing import issue

from . import pdfcheck, sigcheck
from .conftest import sample


def signed_in(app, services, role="clerk", agency="jc-justice"):
    name = f"{role}{len(services.users.list())}"
    _, password = admin.add_user(services, OPERATOR, name, role, agency)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": name, "password": password, "csrf_token": token}).status_code == 302
    with client.session_transaction() as session:
        return client, session["csrf"]  # signing in starts a new session, with a new token


def test_clerk_pages_need_a_session(anonymous):
    response = anonymous.get("/forms")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/forms")


def test_a_preview_is_a_marked_draft_that_is_neither_numbered_nor_signed_nor_registered(app, services):
    client, token = signed_in(app, services)
    form = {f"{k}": v for k, v in {"department": "行政审批服务科", "office_phone": "0356-2196035", "head.name": "李建国",
                                   "head.phone": "13903561208", "liaison.name": "赵晓燕", "liaison.phone": "15935612047"}.items()}
    response = client.post("/forms/liaison-form", data={**form, "csrf_token": token, "_action": "preview"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdfcheck.text(response.data)
    assert "样稿" in text and "行政审批服务科" in text
    assert sigcheck.empty_signature_fields(response.data) == [] and b"/ByteRange" not in response.data
    assert services.registry.list() == []


def test_a_rejected_form_keeps_every_value_typed(app, services):
    client, token = signed_in(app, services)
    response = client.post("/forms/liaison-form", data={"department": "审批科<b>", "office_phone": "12", "head.name": "李建国",
                                                        "csrf_token": token, "_action": "issue"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="审批科&lt;b&gt;"' in html and 'value="12"' in html and 'value="李建国"' in html
    assert 'id="f-office_phone-error"' in html and "电话号码格式不正确" in html


def test_the_document_list_searches_and_pages_within_the_clerks_agency(app, services):
    for _ in range(23):
        issue(services, "liaison-form", sample("liaison-form"), principal=OPERATOR, agency_id="jc-justice")
    other = issue(services, "liaison-form", sample("liaison-form"), principal=OPERATOR, agency_id="jc-market").document
    client, _ = signed_in(app, services)
    first = client.get("/documents").get_data(as_text=True)
    assert "共 23 件" in first and "第 1 / 2 页" in first and other.serial not in first
    assert "第 2 / 2 页" in client.get("/documents?page=2").get_data(as_text=True)
    serial = next(r.serial for r in services.registry.list() if r.agency == "jc-justice")
    assert "共 1 件" in client.get(f"/documents?q={serial}").get_data(as_text=True)
    assert client.get(f"/documents/{other.id}").status_code == 404


@pytest.mark.parametrize(("query", "parameter"), [
    ("page=99999999999999999999999", "page"), ("page=0", "page"), ("page=-3", "page"), ("page=x", "page"), ("page=１", "page"),
    ("to=9999-12-31", "to"), ("from=0001-01-01", "from"), ("from=2026-02-30", "from"), ("q=" + "a" * 100_000, "q"),
    ("form=no-such-form", "form"),
])
def test_extreme_search_parameters_are_a_400_naming_the_parameter(app, services, query, parameter):
    client, _ = signed_in(app, services)
    response = client.get(f"/documents?{query}")
    assert response.status_code == 400
    label = {"q": "查找内容", "form": "表单", "from": "自（日期）", "to": "至（日期）", "page": "页码"}[parameter]
    assert f"<li>{label}：" in response.get_data(as_text=True)


def test_a_page_past_the_end_and_the_widest_dates_are_answered(app, services):
    issue(services, "liaison-form", sample("liaison-form"), principal=OPERATOR, agency_id="jc-justice")
    client, _ = signed_in(app, services)
    past = client.get("/documents?page=100000")
    assert past.status_code == 200 and "没有找到文书" in past.get_data(as_text=True)
    assert "共 1 件" in client.get("/documents?from=2000-01-01&to=2099-12-31").get_data(as_text=True)
    longest = client.get("/documents?q=" + "晋" * 100)
    assert longest.status_code == 200 and "共 0 件" in longest.get_data(as_text=True)


def test_voiding_on_the_page_needs_the_confirmation(app, services):
    record = issue(services, "liaison-form", sample("liaison-form"), principal=OPERATOR, agency_id="jc-justice").document
    client, token = signed_in(app, services, role="supervisor")
    unconfirmed = client.post(f"/documents/{record.id}/void", data={"reason": "错误", "csrf_token": token})
    assert unconfirmed.status_code == 422 and services.registry.get(record.id).status == "completed"
    done = client.post(f"/documents/{record.id}/void", data={"reason": "错误", "confirm": "yes", "csrf_token": token})
    assert done.status_code == 302 and services.registry.get(record.id).status == "voided"
    clerk, clerk_token = signed_in(app, services)
    assert "作废原因" not in clerk.get(f"/documents/{record.id}").get_data(as_text=True)


def test_every_page_asset_is_served_by_the_service(anonymous):
    html = anonymous.get("/verify").get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="([^"]+\.(?:css|js))"', html)
    assert assets and all(a.startswith("/static/") for a in assets)
    assert all(anonymous.get(a).status_code == 200 for a in assets)
    assert "http://" not in html and "https://" not in html
