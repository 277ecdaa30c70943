"""The file stores: one contract for the folder, the database (SQLite and PostgreSQL) and S3 (moto's server on
loopback, tests/servers.py, spoken to over real HTTP); documents issued and downloaded through the API with each; stored bytes
that differ from the registry are refused; an S3 server that stops answers 503, and /healthz names the check."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from service.config import load_settings
from service.errors import ConfigurationError, NotFound, StorageUnavailable
from service.registry.db import make_engine
from service.registry.tables import stored_files
from service.storage import FileStore, FolderStore
from service.storage.database import DatabaseStore
from service.storage.s3 import S3Store

from .conftest import sample
from .servers import S3Server

pytestmark = pytest.mark.doubles  # the stores are under test here; conversion and signing are tested end to end elsewhere

KINDS = ["folder", "database-sqlite", "database-postgresql", "s3"]
WHEN = dt.datetime(2026, 11, 29, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(scope="module", autouse=True)
def aws_credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in S3Server.CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(scope="module")
def s3(aws_credentials) -> Iterator[S3Server]:
    server = S3Server().start()
    yield server
    server.stop()


def s3_environ(server: S3Server) -> dict[str, str]:
    return {"CHENGNUO_STORAGE": "s3", "CHENGNUO_S3_ENDPOINT": server.endpoint, "CHENGNUO_S3_BUCKET": server.new_bucket(),
            "CHENGNUO_STORAGE_TIMEOUT": "2"}


def overwrite(store: FileStore, relative: str, content: bytes) -> None:
    """Changes a stored file behind the service's back, as a failing disk or a careless operator would."""
    if isinstance(store, FolderStore):
        (store.root / relative).write_bytes(content)
    elif isinstance(store, DatabaseStore):
        with store.engine.begin() as conn:
            conn.execute(update(stored_files).where(stored_files.c.path == relative).values(content=content, size=len(content)))
    else:
        assert isinstance(store, S3Store)
        store.client.put_object(Bucket=store.bucket, Key=relative, Body=content)


@pytest.fixture(params=KINDS)
def store(request, tmp_path) -> FileStore:
    if request.param == "folder":
        return FolderStore(tmp_path / "files")
    if request.param == "database-sqlite":
        return DatabaseStore(make_engine(f"sqlite:///{tmp_path / 'registry.db'}"))
    if request.param == "database-postgresql":
        return DatabaseStore(make_engine(request.getfixturevalue("pg_url")))
    server: S3Server = request.getfixturevalue("s3")
    return S3Store(bucket=server.new_bucket(), endpoint=server.endpoint, region="us-east-1", timeout=2)


@pytest.fixture(params=KINDS)
def settings(request, tmp_path):
    """Overrides conftest's: the service's settings with each store in turn."""
    environ = {"CHENGNUO_DATA_DIR": str(tmp_path / "data")}
    if request.param.startswith("database"):
        environ["CHENGNUO_STORAGE"] = "database"
    if request.param == "database-postgresql":
        environ["CHENGNUO_DATABASE_URL"] = request.getfixturevalue("pg_url")
    if request.param == "s3":
        environ.update(s3_environ(request.getfixturevalue("s3")))
    return load_settings(environ=environ)


# The contract every store keeps.

def test_a_stored_file_comes_back_whole_under_a_dated_path(store: FileStore):
    content = os.urandom(300_000)
    relative = store.put("doc-1", "pdf", content, WHEN)
    assert "2026/11/doc-1.pdf" == relative
    assert content == store.get(relative)


def test_a_file_stored_again_replaces_the_first(store: FileStore):
    relative = store.put("doc-1", "docx", b"first", WHEN)
    assert relative == store.put("doc-1", "docx", b"second", WHEN)
    assert b"second" == store.get(relative)


@pytest.mark.parametrize("relative", [None, "", "2026/11/nobody.pdf"])
def test_a_missing_file_is_not_found(store: FileStore, relative):
    with pytest.raises(NotFound):
        store.get(relative)


def test_a_reachable_store_is_healthy(store: FileStore):
    assert store.healthy()


def test_the_folder_store_keeps_to_its_folder(tmp_path):
    (tmp_path / "secret").write_bytes(b"x")
    with pytest.raises(NotFound):
        FolderStore(tmp_path / "files").get("../secret")


def test_an_unknown_store_or_s3_without_a_bucket_stops_the_service_at_start():
    with pytest.raises(ConfigurationError, match="CHENGNUO_STORAGE"):
        load_settings(environ={"CHENGNUO_STORAGE": "ftp"})
    with pytest.raises(ConfigurationError, match="CHENGNUO_S3_BUCKET"):
        load_settings(environ={"CHENGNUO_STORAGE": "s3"})


# Through the service, with each store (the settings fixture above).

def issue(client) -> dict:
    created = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert 201 == created.status_code, created.json
    return created.json


def test_a_document_is_issued_and_downloaded_through_each_store(client, services, settings):
    body = issue(client)
    pdf = client.get(body["links"]["pdf"])
    assert 200 == pdf.status_code
    assert body["sha256"] == hashlib.sha256(pdf.data).hexdigest()
    assert b"PK" == client.get(body["links"]["docx"]).data[:2]
    assert {"ok": True, "kind": settings.storage} == client.get("/healthz").json["checks"]["storage"]
    if settings.storage != "folder":  # nothing issued went to the folder
        assert not settings.files_dir.exists() or not any(p.is_file() for p in settings.files_dir.rglob("*"))


def test_a_tampered_stored_pdf_is_refused_not_served(client, services, caplog):
    body = issue(client)
    record = services.registry.get(body["id"])
    overwrite(services.files, record.pdf_path, b"%PDF-1.7 not the document the agency issued")
    response = client.get(body["links"]["pdf"])
    assert (500, "stored_file_corrupt") == (response.status_code, response.json["error"])
    assert b"%PDF" not in response.data
    assert "the registry recorded" in caplog.text


@pytest.mark.parametrize("settings", ["s3"], indirect=True)
def test_an_s3_store_that_stops_answers_503_and_healthz_names_storage(request, tmp_path, client, services):
    server = S3Server().start()  # its own server, so the module's keeps running for the others
    services.files = S3Store(bucket=server.new_bucket(), endpoint=server.endpoint, region="us-east-1", timeout=1)
    body = issue(client)
    assert 200 == client.get(body["links"]["pdf"]).status_code
    server.stop()

    response = client.get(body["links"]["pdf"])
    assert (503, "storage_unavailable") == (response.status_code, response.json["error"])
    assert response.headers["Retry-After"] == "10"
    assert b"%PDF" not in response.data
    health = client.get("/healthz")
    assert 503 == health.status_code
    assert {"ok": False, "kind": "s3", "error": "file store unreachable"} == health.json["checks"]["storage"]
    with pytest.raises(StorageUnavailable):
        services.files.put("doc-2", "pdf", b"x", WHEN)


@pytest.mark.parametrize("settings", ["s3"], indirect=True)
def test_issuing_while_the_store_is_down_answers_503_and_voids_the_number(client, services):
    server = S3Server().start()
    services.files = S3Store(bucket=server.new_bucket(), endpoint=server.endpoint, region="us-east-1", timeout=1)
    server.stop()
    response = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert (503, "storage_unavailable") == (response.status_code, response.json["error"])
    assert response.headers["Retry-After"] == "10"
    [voided] = services.registry.list(status="voided")
    assert "the file store cannot be reached" in voided.void_reason
