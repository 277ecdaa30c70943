"""Shared fixtures: one real LibreOffice pool for the whole run; a fresh registry and data folder per test."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devpki import DevPki, dev_pki_server, init_pki, load_dev_pki
from service import create_app
from service.agencies import load_agencies
from service.config import load_settings
from service.converting.pool import ConverterPool
from service.forms import CATALOGUE
from service.registry import schema
from service.registry.db import make_engine
from service.rendering.context import template_context
from service.rendering.qr import qr_png
from service.runtime import Services, build_services, pool_settings
from service.verifying.sandbox import SandboxSettings, VerificationSandbox

from .doubles import BlankPdfConverter, UnsignedSigner
from .servers import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
ARTEFACTS = ROOT / "test-artifacts"


def service_today() -> dt.date:
    """Today where the service works (its timezone, Asia/Shanghai by default): from 16:00 UTC on, a day after UTC's."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(load_settings(environ={}).timezone)).date()


def sample(form_id: str) -> dict:
    return json.loads((SAMPLES / f"{form_id}.json").read_text(encoding="utf-8"))


def issue_context(form_id: str, data: dict[str, Any]) -> tuple[str, dict[str, Any], bytes]:
    """Template, context and QR code as service.issuing._issue passes them to the renderer."""
    spec = CATALOGUE[form_id]
    agency = load_agencies(load_settings(environ={}).agencies_file).default
    today = dt.date(2026, 3, 16)
    serial = "2026-00000001-ABCD"
    verify_url = f"http://127.0.0.1:8000/v/{serial}"
    number = {"letter": "晋市司函字〔2026〕1号", "commitment": "[2026年]第1号"}.get(spec.number_kind)
    context = template_context(spec, spec.schema().load(data), agency=agency, number=number, serial=serial,
                               verify_url=verify_url, issued_on=today)
    return spec.template, context, qr_png(verify_url)


@pytest.fixture(scope="session", autouse=True)
def pki() -> Path:
    """The development PKI of devpki/pki.yml, created or updated as make run does."""
    settings = load_settings(environ={})
    init_pki(settings.certs_dir, load_agencies(settings.agencies_file).by_id.values())
    return settings.certs_dir


@pytest.fixture(scope="session")
def dev_pki(pki: Path) -> DevPki:
    """The same declaration as certomancer builds it: every certificate and key, the test signers included."""
    return load_dev_pki(pki)


@pytest.fixture(scope="session")
def dev_tsa_url(pki: Path) -> str:
    """The development PKI's TSA as a configured URL (this process serves it, as the service does)."""
    return dev_pki_server(pki).tsa_url


@pytest.fixture(scope="session")
def pool() -> Iterator[ConverterPool]:
    converter = ConverterPool(pool_settings(load_settings(environ={}, converter_workers=2)))
    converter.start()
    yield converter
    converter.stop()


@pytest.fixture(scope="session")
def sandbox(pki) -> Iterator[VerificationSandbox]:
    settings = load_settings(environ={})
    box = VerificationSandbox(SandboxSettings(workers=2), [str(p) for p in settings.trust_root_files])
    box.start()
    yield box
    box.stop()


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings(environ={"CHENGNUO_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def services(request, settings, pool: ConverterPool, sandbox: VerificationSandbox) -> Iterator[Services]:
    """The service's parts on a fresh data folder. In a module marked ``doubles`` (tests of the HTTP layer and
    access rules), the converter and the signer are test doubles, unless the test itself is marked ``office``."""
    doubled = request.node.get_closest_marker("doubles") is not None and request.node.get_closest_marker("office") is None
    svc = build_services(settings, converter=BlankPdfConverter() if doubled else pool, sandbox=sandbox)
    if doubled:
        svc.signer = UnsignedSigner()  # type: ignore[assignment]
    yield svc
    svc.batch_queue.stop()
    svc.instances.close()
    svc.registry.engine.dispose()


@pytest.fixture
def app(services: Services):
    return create_app(services=services)


@pytest.fixture
def api_key(services: Services) -> str:
    """A calling system's key for every agency and form."""
    _, key = services.api_keys.create(name="测试案件系统", agencies=services.agencies.by_id, forms=["*"], now=services.now())
    return key


def keyed_client(app, key: str):
    """A test client that sends ``key`` with every request, as a calling system does."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


@pytest.fixture
def client(app, api_key):
    """A calling system: every request carries its API key."""
    return keyed_client(app, api_key)


@pytest.fixture
def anonymous(app):
    """Anyone: no key, no session."""
    return app.test_client()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on loopback for the whole run, started on first use."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def empty_pg_url(postgres: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database."""
    return postgres.new_database()


@pytest.fixture
def pg_url(empty_pg_url: str) -> str:
    """A fresh PostgreSQL database, migrated by the operator's step (``python -m service db upgrade``)."""
    engine = make_engine(empty_pg_url, migrate=False)
    schema.upgrade(engine)
    engine.dispose()
    return empty_pg_url


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS
