"""The item catalogue as data: /api/v1/catalog (versions, permissions, imports, templates, the printed catalogue) and
``python -m service catalog``."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import subprocess
import sys

import openpyxl
import pytest

from service import admin
from service.auth.principal import OPERATOR
from service.cases.catalog_import import COLUMNS, MAX_BYTES
from service.cases.catalogue import CatalogItemSchema

from . import pdfcheck
from .conftest import ROOT, SAMPLES

pytestmark = pytest.mark.doubles  # the HTTP layer and the rules; the printed catalogue is issued for real (marked office)

FIXTURES = ROOT / "tests" / "fixtures"
ITEMS = "/api/v1/catalog/items"
ITEM = {
    "kind": "proof",
    "name": "律师执业申请人实习考核合格证明",
    "matter": "律师执业许可",
    "purpose": "申请律师执业时，证明申请人在律师事务所实习满一年且考核合格",
    "basis": {"law": "《中华人民共和国律师法》", "article": "第五条", "text": "申请律师执业，应当具备下列条件：……（三）在律师事务所实习满一年；"},
    "content": "申请人在律师事务所实习满一年，经律师协会考核合格",
    "conditions": ["在律师事务所连续实习满一年", "实习考核合格"],
    "requester": "晋城市司法局",
    "issuer": "山西省律师协会",
    "proxy_allowed": False,
    "consequences": ["终止办理", "撤销行政决定，纳入信用记录"],
    "disclosure": {"public": True, "scope": "晋城市司法局门户网站", "period": "自作出行政决定之日起公示6个月"},
    "disclosure_days": 184,
    "verification": {"method": "internal", "system": "全国律师管理", "days": 10},
    "supervision": "登录全国律师管理系统核查实习登记及考核记录",
    "contact": {"name": "赵晓燕", "phone": "0356-2196035"},
    "credit_catalogue": "信用中国（山西）",
    "area": "一般事项",
}


def sign_in(app, username: str, password: str):
    """A signed-in person's client; its changes carry the session's CSRF token."""
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code == 302
    with client.session_transaction() as session:
        client.environ_base["HTTP_X_CSRF_TOKEN"] = session["csrf"]
    return client


@pytest.fixture
def people(app, services):
    made = {}
    for name, role, agency in (("zhang", "clerk", "jc-justice"), ("li", "supervisor", "jc-justice"),
                               ("wang", "supervisor", "jc-market"), ("root", "admin", None)):
        _, password = admin.add_user(services, OPERATOR, name, role, agency)
        made[name] = sign_in(app, name, password)
    return made


@pytest.fixture
def li(people):
    return people["li"]


def upload(client, content: bytes, filename: str, **fields):
    return client.post("/api/v1/catalog/imports", data={"file": (io.BytesIO(content), filename), **fields},
                       content_type="multipart/form-data")


def names(client, **query) -> list[str]:
    return [item["name"] for item in client.get(ITEMS, query_string=query).json["items"]]


# --- items ---------------------------------------------------------------------------------------------


def test_a_supervisor_adds_an_item_that_the_agency_reads(li, people, client):
    created = li.post(ITEMS, json={"item": ITEM})
    assert created.status_code == 201, created.json
    body = created.json
    assert created.headers["Location"] == f"{ITEMS}/{body['id']}"
    assert (body["agency"], body["kind"], body["version"], body["updated_by"]) == ("jc-justice", "proof", 1, "user:li")
    assert body["data"]["verification"] == {"method": "internal", "system": "全国律师管理", "agency": "", "days": 10, "reply_days": None}
    assert [h["version"] for h in body["history"]] == [1]
    assert names(client, agency="jc-justice") == names(people["zhang"]) == [ITEM["name"]]
    assert client.get(f"{ITEMS}/{body['id']}").json["data"] == body["data"]


def test_an_invalid_item_is_422_with_every_bad_field_by_path(li):
    item = copy.deepcopy(ITEM)
    item["basis"]["article"] = "四十一"
    item["verification"] = {"method": "internal", "days": 10}
    item["contact"].pop("phone")
    item["area"] = "重要涉外"
    item["extra"] = 1
    response = li.post(ITEMS, json={"item": item})
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"item.basis.article", "item.verification.system", "item.contact.phone", "item.area", "item.extra"}
    assert "条款应写明第几条" in errors["item.basis.article"][0]
    assert all(" / " in message for messages in errors.values() for message in messages)


def test_an_item_of_an_excluded_area_is_refused_with_the_reason(li):
    response = li.post(ITEMS, json={"item": {**ITEM, "area": "公共安全"}})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["item.area"]
    reason = response.json["errors"]["item.area"][0]
    assert "“公共安全”" in reason and "不适用告知承诺制" in reason and "郑政办〔2021〕17号 四" in reason


def test_an_edit_makes_version_2_and_version_1_stays_readable(li):
    item_id = li.post(ITEMS, json={"item": ITEM}).json["id"]
    changed = {**ITEM, "verification": {"method": "onsite", "days": 5}}
    edited = li.put(f"{ITEMS}/{item_id}", json={"version": 1, "item": changed})
    assert edited.status_code == 200, edited.json
    assert edited.json["version"] == 2 and edited.json["data"]["verification"]["method"] == "onsite"
    assert [h["version"] for h in edited.json["history"]] == [2, 1]
    first = li.get(f"{ITEMS}/{item_id}", query_string={"version": 1}).json
    assert (first["version"], first["data"]["verification"]["method"]) == (1, "internal")
    assert li.get(f"{ITEMS}/{item_id}").json["version"] == 2
    stale = li.put(f"{ITEMS}/{item_id}", json={"version": 1, "item": ITEM})
    assert stale.status_code == 409 and stale.json["error"] == "item_changed" and "第 2 版" in stale.json["message"]
    assert li.get(f"{ITEMS}/{item_id}", query_string={"version": 3}).status_code == 404


def test_keys_and_clerks_read_but_may_not_write(li, people, client):
    item_id = li.post(ITEMS, json={"item": ITEM}).json["id"]
    for response in (client.post(ITEMS, json={"agency": "jc-justice", "item": {**ITEM, "name": "另一个"}}),
                     client.put(f"{ITEMS}/{item_id}", json={"item": ITEM}), client.delete(f"{ITEMS}/{item_id}"),
                     upload(client, (SAMPLES / "catalog-items.csv").read_bytes(), "catalog-items.csv", agency="jc-justice")):
        assert response.status_code == 403 and response.json["error"] == "catalog_read_only"
        assert "API 密钥只能读取事项目录" in response.json["message"]
    clerk = people["zhang"]
    assert clerk.get(f"{ITEMS}/{item_id}").status_code == 200
    assert clerk.post(ITEMS, json={"item": {**ITEM, "name": "另一个"}}).status_code == 403
    assert clerk.delete(f"{ITEMS}/{item_id}").status_code == 403
    assert li.get(f"{ITEMS}/{item_id}").json["version"] == 1


def test_another_agencys_item_is_not_found(li, people):
    item_id = li.post(ITEMS, json={"item": ITEM}).json["id"]
    market = people["wang"]
    assert market.get(f"{ITEMS}/{item_id}").status_code == 404
    assert market.put(f"{ITEMS}/{item_id}", json={"item": ITEM}).status_code == 404
    assert market.delete(f"{ITEMS}/{item_id}").status_code == 404
    assert names(market) == [] and names(market, agency="jc-justice") == []
    assert market.post(ITEMS, json={"agency": "jc-justice", "item": ITEM}).status_code == 403
    assert people["root"].post(ITEMS, json={"agency": "jc-market", "item": ITEM}).status_code == 201


def test_a_retired_item_leaves_the_list_and_stays_readable(li):
    item_id = li.post(ITEMS, json={"item": ITEM}).json["id"]
    retired = li.delete(f"{ITEMS}/{item_id}")
    assert retired.status_code == 200 and retired.json["retired_at"]
    assert names(li) == [] and names(li, include_retired="true") == [ITEM["name"]]
    assert li.get(f"{ITEMS}/{item_id}").json["retired_at"]
    assert li.post(ITEMS, json={"item": ITEM}).json["error"] == "item_exists"


# --- imports ---------------------------------------------------------------------------------------------


def test_a_csv_import_adds_the_good_rows_and_refuses_the_excluded_one_by_row_number(li, services):
    response = upload(li, (FIXTURES / "catalog-excluded.csv").read_bytes(), "catalog-excluded.csv")
    assert response.status_code == 200, response.json
    report = response.json
    assert report["counts"] == {"total": 3, "added": 2, "updated": 0, "unchanged": 0, "refused": 1}
    refused = [row for row in report["rows"] if row["outcome"] == "refused"]
    assert [(row["row"], row["name"], list(row["errors"]), row["columns"]) for row in refused] == \
        [(3, "保安员证申请人无犯罪记录证明", ["area"], {"area": "所属领域"})]
    assert "“公共安全”" in refused[0]["errors"]["area"][0] and "不适用告知承诺制" in refused[0]["errors"]["area"][0]
    assert sorted(names(li)) == sorted(["法律援助申请人经济困难状况证明", "司法鉴定人执业申请人相关工作经历证明"])
    entries = services.audit.entries(limit=5, action="catalog_import")
    assert len(entries) == 1
    assert {k: entries[0].detail[k] for k in ("agency", "added", "refused")} == {"agency": "jc-justice", "added": 2, "refused": 1}
    assert sorted(item["version"] for item in entries[0].detail["items"]) == [1, 1]


def _csv_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((SAMPLES / "catalog-items.csv").read_text(encoding="utf-8-sig"), newline="")))


def _csv(rows: list[dict[str, str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def test_a_second_import_keeps_unchanged_items_and_versions_changed_ones(li):
    content = (SAMPLES / "catalog-items.csv").read_bytes()
    assert upload(li, content, "a.csv").json["counts"] == {"total": 6, "added": 6, "updated": 0, "unchanged": 0, "refused": 0}
    rows = _csv_rows()
    rows[1]["监管措施"] = "每季度抽查实习登记记录"
    again = upload(li, _csv(rows), "b.csv").json
    assert again["counts"] == {"total": 6, "added": 0, "updated": 1, "unchanged": 5, "refused": 0}
    updated = next(row for row in again["rows"] if row["outcome"] == "updated")
    assert (updated["row"], updated["version"]) == (3, 2)
    assert li.get(f"{ITEMS}/{updated['item_id']}").json["data"]["supervision"] == "每季度抽查实习登记记录"


def test_bad_cells_are_reported_on_their_fields_with_the_spreadsheet_row(li):
    rows = _csv_rows()[:3]
    rows[2]["是否公开"] = "也许"
    rows[2]["核查时限（工作日）"] = "十"
    rows[2]["条款"] = ""
    report = upload(li, _csv(rows), "bad.csv").json
    bad = report["rows"][2]
    assert (bad["row"], bad["outcome"]) == (4, "refused")  # multi-line cells above do not shift the numbering
    assert set(bad["errors"]) == {"disclosure.public", "verification.days", "basis.article"}
    assert bad["columns"] == {"disclosure.public": "是否公开", "verification.days": "核查时限（工作日）", "basis.article": "条款"}
    assert bad["errors"]["disclosure.public"] == ["应填“是”或“否” / must be 是 (yes) or 否 (no)"]
    assert report["counts"]["added"] == 2


def test_an_xlsx_made_from_the_template_imports(li):
    book = openpyxl.load_workbook(io.BytesIO(li.get("/api/v1/catalog/template.xlsx").data))
    sheet = book["事项目录"]
    headers = [cell.value for cell in sheet[1]]
    for row in _csv_rows():
        sheet.append([int(row[h]) if h.startswith("核查时限") and row[h] else row[h] or None for h in headers])
    out = io.BytesIO()
    book.save(out)
    report = upload(li, out.getvalue(), "目录.xlsx").json
    assert report["counts"] == {"total": 6, "added": 6, "updated": 0, "unchanged": 0, "refused": 0}
    assert [row["row"] for row in report["rows"]] == [2, 3, 4, 5, 6, 7]
    assert len(names(li)) == 6


def test_a_gb18030_csv_as_excel_saves_it_imports(li):
    report = upload(li, _csv(_csv_rows(), "gb18030"), "目录.csv").json
    assert report["counts"]["added"] == 6
    assert "律师事务所住所使用证明" in names(li)


@pytest.mark.parametrize(("content", "filename", "status", "says"), [
    (b"PK\x03\x04 not really a zip", "x.xlsx", 422, "不是有效的 XLSX 文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls", 422, "旧版 Excel"),
    ("事项名称,颜色\n甲,红\n".encode(), "x.csv", 422, "未知的列：颜色"),
    (b"", "x.csv", 422, "file"),
    (b"\x00\x01\x02", "x.csv", 422, "CSV"),
    (b"\xff\xfe\xfa" * 10, "x.csv", 422, "编码"),
    ("事项名称\n".encode() + "甲\n".encode() * 501, "x.csv", 413, "一次最多导入 500 行"),
    (b"a" * (MAX_BYTES + 1), "x.csv", 413, "KB"),
])
def test_a_malformed_or_oversized_file_is_refused_whole(li, content, filename, status, says):
    response = upload(li, content, filename)
    assert response.status_code == status, response.json
    assert says in json.dumps(response.json, ensure_ascii=False)
    assert names(li) == []


def test_an_import_without_a_file_is_422(li):
    response = li.post("/api/v1/catalog/imports", data={"agency": "jc-justice"}, content_type="multipart/form-data")
    assert response.status_code == 422 and list(response.json["errors"]) == ["file"]


def test_a_dry_run_reports_and_imports_nothing(li, services):
    report = upload(li, (FIXTURES / "catalog-excluded.csv").read_bytes(), "x.csv", dry_run="true").json
    assert report["dry_run"] is True
    assert report["counts"] == {"total": 3, "added": 2, "updated": 0, "unchanged": 0, "refused": 1}
    assert all(row["version"] is None for row in report["rows"])
    assert names(li) == [] and services.audit.entries(limit=5, action="catalog_import") == []


def test_the_templates_name_every_field_of_an_item(li):
    leaves = []
    for name, field in CatalogItemSchema().fields.items():
        nested = getattr(field, "schema", None)
        leaves += [f"{name}.{child}" for child in nested.fields] if nested is not None else [name]
    assert sorted(column.path for column in COLUMNS) == sorted(leaves)
    text = li.get("/api/v1/catalog/template.csv").data.decode("utf-8")
    assert text.startswith("\ufeff事项类型,事项名称,申请事项名称,证明用途,依据名称,条款,条文内容")
    book = openpyxl.load_workbook(io.BytesIO(li.get("/api/v1/catalog/template.xlsx").data))
    assert [cell.value for cell in book["事项目录"][1]] == [column.header for column in COLUMNS]
    assert book["填写说明"].max_row == len(COLUMNS) + 1


# --- the printed catalogue ------------------------------------------------------------------------------


@pytest.mark.office
def test_the_printed_catalogue_carries_the_items_basis_and_records_their_versions(li, people, services):
    upload(li, (SAMPLES / "catalog-items.csv").read_bytes(), "catalog-items.csv")
    items = {item["name"]: item for item in li.get(ITEMS).json["items"]}
    lawyer = items["律师执业申请人实习考核合格证明"]
    li.put(f"{ITEMS}/{lawyer['id']}", json={"version": 1, "item": {**lawyer["data"], "remarks": "可登录全国律师管理系统查询"}})
    printed = people["zhang"].post("/api/v1/catalog/print", json={})
    assert printed.status_code == 201, printed.json
    document = printed.json
    assert document["form"] == "item-catalog" and document["agency"] == "jc-justice"
    text = "".join(pdfcheck.text(people["zhang"].get(document["links"]["pdf"]).data).split())
    assert "《中华人民共和国律师法》第五条：申请律师执业" in text
    assert "《全国人民代表大会常务委员会关于司法鉴定管理问题的决定》第四条第（二）项" in text
    assert "司法鉴定机构登记" not in text  # a permit item: not a row of the 证明事项目录
    recorded = services.registry.get(document["id"]).catalog_items
    expected = sorted((item["id"], 2 if item["id"] == lawyer["id"] else 1) for item in items.values() if item["kind"] == "proof")
    assert sorted((entry["id"], entry["version"]) for entry in recorded) == expected


def test_printing_an_empty_catalogue_is_409(people):
    response = people["zhang"].post("/api/v1/catalog/print", json={"agency": "jc-justice"})
    assert response.status_code == 409 and response.json["error"] == "catalog_empty"
    assert people["zhang"].post("/api/v1/catalog/print", json={"agency": "jc-market"}).status_code == 403


# --- the declared contract ------------------------------------------------------------------------------


def test_answers_match_the_openapi_document(app, li, client):
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)

    def check(path: str, method: str, response, status: int):
        assert response.status_code == status, response.get_data(as_text=True)
        schema[path][method].validate_response(response)
        return response.json

    created = check("/api/v1/catalog/items", "POST", li.post(ITEMS, json={"item": ITEM}), 201)
    item = "/api/v1/catalog/items/{item_id}"
    check(item, "PUT", li.put(f"{ITEMS}/{created['id']}", json={"item": {**ITEM, "window": "司法行政"}}), 200)
    check(item, "GET", client.get(f"{ITEMS}/{created['id']}?version=1"), 200)
    check("/api/v1/catalog/items", "GET", client.get(ITEMS), 200)
    check("/api/v1/catalog/imports", "POST", upload(li, (FIXTURES / "catalog-excluded.csv").read_bytes(), "x.csv"), 200)
    check("/api/v1/catalog/imports", "POST", upload(li, b"PK\x03\x04", "x.xlsx"), 422)
    check(item, "DELETE", li.delete(f"{ITEMS}/{created['id']}"), 200)
    check(item, "PUT", client.put(f"{ITEMS}/{created['id']}", json={"item": ITEM}), 403)


# --- the command line -------------------------------------------------------------------------------------


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service", "catalog", *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


def test_cli_import_exits_2_naming_each_refused_row_and_0_when_all_go_in(tmp_path):
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data")}
    refused = run("import", str(FIXTURES / "catalog-excluded.csv"), "--agency", "jc-justice", env=env)
    assert refused.returncode == 2, refused.stderr
    assert "第 3 行 / row 3 保安员证申请人无犯罪记录证明：所属领域（area）：直接涉及“公共安全”" in refused.stderr
    assert json.loads(refused.stdout)["counts"] == {"total": 3, "added": 2, "updated": 0, "unchanged": 0, "refused": 1}
    dry = run("import", str(SAMPLES / "catalog-items.csv"), "--agency", "jc-justice", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["counts"] == {"total": 6, "added": 4, "updated": 0, "unchanged": 2, "refused": 0}
    listed = json.loads(run("list", "--agency", "jc-justice", env=env).stdout)["items"]
    assert len(listed) == 2
    assert run("import", str(tmp_path / "missing.csv"), env=env).returncode == 2
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04broken")
    assert run("import", str(tmp_path / "broken.xlsx"), env=env).returncode == 2
    assert run("show", "no-such-item", env=env).returncode == 2
    template = tmp_path / "t.csv"
    assert run("template", "--format", "csv", "--out", str(template), env=env).returncode == 0
    assert template.read_bytes().startswith("\ufeff事项类型".encode())
