"""The service's long-lived parts, built once from the settings and shared by the API, the CLI and the pages."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

from . import workdays
from .agencies import Agencies, load_agencies
from .audit import AuditLog, make_audit_log
from .auth.api_keys import ApiKeys
from .auth.users import Users
from .batches.queue import BatchQueue
from .config import PROJECT_ROOT, Settings
from .converting import Converter
from .converting.pool import ConverterPool, PoolSettings
from .errors import ConfigurationError
from .forms import CATALOGUE
from .metrics import Metrics
from .registry.assistance import AssistanceStore
from .registry.batches import BatchStore
from .registry.cases import CaseStore
from .registry.catalog import CatalogStore
from .registry.compromises import CompromiseStore
from .registry.db import make_engine
from .registry.documents import DocumentRegistry
from .registry.instances import Instances
from .registry.signing_links import SigningLinks
from .registry.templates import TemplateStore
from .registry.webhooks import WebhookStore
from .rendering import bounded
from .rendering.docx_render import DocxRenderer
from .signing.agency_seals import AgencySeals
from .signing.certify import DocumentSigner
from .signing.health import SigningHealth
from .signing.issuance import PersonsCA, id_hash_key
from .signing.keys import KeyStore
from .signing.paths import PkiPaths, read_passphrase
from .signing.revocation import RevocationSource
from .signing.timestamps import (
    TimestampSource,
    development_tsa_fingerprints,
    timestamp_source,
)
from .storage import FileStore, make_store
from .verifying.sandbox import SandboxSettings, VerificationSandbox
from .verifying.trust_roots import load_trust_roots
from .webhooks.secretbox import SecretBox


@dataclass
class Services:
    settings: Settings
    agencies: Agencies
    registry: DocumentRegistry
    instances: Instances
    links: SigningLinks
    catalog: CatalogStore
    assistance: AssistanceStore
    cases: CaseStore
    files: FileStore
    renderer: DocxRenderer
    converter: Converter
    keys: KeyStore
    compromises: CompromiseStore  # agency keys reported compromised: nothing more is signed with them
    persons: PersonsCA
    signer: DocumentSigner
    signing_health: SigningHealth
    timestamps: TimestampSource
    revocation: RevocationSource
    development_tsas: frozenset[str]  # SHA-256 of the development PKI's TSA certificate: its timestamps prove nothing
    sandbox: VerificationSandbox
    api_keys: ApiKeys
    users: Users
    audit: AuditLog
    metrics: Metrics
    clock: Callable[[], dt.datetime]
    webhooks: WebhookStore
    webhook_secrets: SecretBox
    batches: BatchStore
    batch_queue: BatchQueue
    templates: TemplateStore  # agencies' own template versions

    def now(self) -> dt.datetime:
        return self.clock()

    def close(self) -> None:
        self.batch_queue.stop()
        self.instances.close()
        self.converter.stop()
        self.sandbox.stop()
        bounded.stop()
        self.registry.engine.dispose()


def development_pki() -> ModuleType:
    """The ``devpki`` package of the source checkout, wherever the command runs from (it is not installed with
    the service). Raises ConfigurationError when there is none: a deployment brings its own keys and TSA."""
    try:
        return importlib.import_module("devpki")
    except ImportError:
        if (PROJECT_ROOT / "devpki" / "__init__.py").is_file() and str(PROJECT_ROOT) not in sys.path:
            sys.path.append(str(PROJECT_ROOT))
            return importlib.import_module("devpki")
        raise ConfigurationError("开发用 PKI（devpki）只在源码目录中提供；生产环境请配置自己的密钥和时间戳服务（CHENGNUO_TSA_URL）",
                                 "the development PKI (devpki) comes with the source checkout only; a deployment configures "
                                 "its own keys and TSA (CHENGNUO_TSA_URL)") from None


def persons_ca(settings: Settings) -> PersonsCA:
    """The CA of staff and event certificates: the deployment's (``CHENGNUO_PERSONS_CA``), else the development PKI's."""
    paths = PkiPaths(settings.certs_dir)
    p12 = Path(settings.persons_ca) if settings.persons_ca else paths.persons_ca
    passphrase_file = Path(settings.persons_ca_passphrase_file) if settings.persons_ca_passphrase_file else (
        None if settings.persons_ca else paths.passphrase_file)
    try:
        passphrase = read_passphrase(passphrase_file) if passphrase_file else None
    except OSError:
        passphrase = None  # the CA then fails to open, and says so, when it is first used
    key = bytes.fromhex(settings.id_hash_key) if settings.id_hash_key else id_hash_key(settings.data_dir)
    return PersonsCA(p12, passphrase, key)


def revocation_source(settings: Settings, agencies: Agencies) -> RevocationSource:
    """Revocation data for PAdES B-LT, fetched with the TSA's timeout and validated against the configured trust
    roots. Where the development PKI certifies an agency or the persons CA, its server (which answers their
    CRLs and OCSP at the address the certificates name) is started before the first fetch."""
    development = not settings.persons_ca or any(not agency.own_key for agency in agencies.by_id.values())

    def prepare() -> None:
        if development:
            development_pki().dev_pki_server(settings.certs_dir)

    return RevocationSource(settings.trust_root_files, settings.tsa_timeout, prepare=prepare)


def template_labels() -> dict[str, list[str]]:
    """The signature labels of every form, by template file (two forms may share one template)."""
    labels: dict[str, list[str]] = {}
    for spec in CATALOGUE.values():
        labels.setdefault(spec.template, []).extend(spec.labels)
    return labels


def pool_settings(settings: Settings) -> PoolSettings:
    return PoolSettings(
        size=settings.converter_workers,
        timeout=settings.converter_timeout,
        start_timeout=settings.converter_start_timeout,
        max_jobs=settings.converter_max_jobs,
        queue_limit=settings.converter_queue_limit,
        queue_wait=settings.converter_queue_wait,
        uno_python=settings.uno_python,
        soffice=settings.soffice,
        font_set_dir=str(settings.fonts_dir) if settings.font_set else "",
    )


def build_services(
    settings: Settings,
    *,
    converter: Converter | None = None,
    sandbox: VerificationSandbox | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Services:
    """Builds everything; the converter pool starts on first use unless the caller starts it.

    Raises ConfigurationError for settings the service must not run with (see ``signing/timestamps.py``,
    ``verifying/trust_roots.py``).
    """
    zone = ZoneInfo(settings.timezone)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = clock or (lambda: dt.datetime.now(zone))
    agencies = load_agencies(settings.agencies_file)
    workdays.configure(settings.holidays_file)
    timestamps = timestamp_source(settings, agencies.by_id.values(),
                                  development_url=lambda: development_pki().dev_pki_server(settings.certs_dir).tsa_url)
    development_tsas = development_tsa_fingerprints(settings.certs_dir)
    if settings.trust_roots.strip():  # a deployment's own; the development root is made by init-pki, after this may run
        load_trust_roots(settings.trust_root_files)
    engine = make_engine(settings.database)
    compromises = CompromiseStore(engine)
    keys = KeyStore(settings.certs_dir, compromised=compromises.find)
    seals = AgencySeals.load(agencies.by_id.values(), lambda: load_trust_roots(settings.trust_root_files), clock())
    revocation = revocation_source(settings, agencies)
    converter = converter or ConverterPool(pool_settings(settings), workdir=None)
    cases = CaseStore(engine)

    return Services(
        settings=settings,
        agencies=agencies,
        registry=DocumentRegistry(engine),
        instances=Instances(engine, clock),
        links=SigningLinks(engine),
        catalog=CatalogStore(engine),
        assistance=AssistanceStore(engine),
        cases=cases,
        files=make_store(settings, engine),
        renderer=DocxRenderer(settings.templates_dir, labels=template_labels()),
        converter=converter,
        keys=keys,
        compromises=compromises,
        persons=persons_ca(settings),
        signer=DocumentSigner(keys, timestamps.timestamper, revocation, seals=seals, clock=clock),
        signing_health=SigningHealth(keys, timestamps, development_tsas, seals=seals, clock=clock),
        timestamps=timestamps,
        revocation=revocation,
        development_tsas=development_tsas,
        sandbox=sandbox
        or VerificationSandbox(
            SandboxSettings(workers=settings.verify_workers, timeout=settings.verify_timeout, memory_mb=settings.verify_memory_mb,
                            queue_limit=settings.verify_queue_limit),
            [str(p) for p in settings.trust_root_files],
        ),
        api_keys=ApiKeys(engine),
        users=Users(engine),
        audit=make_audit_log(settings, engine, clock),
        metrics=Metrics(converter.status, lambda: cases.overdue_counts(clock().date())),
        clock=clock,
        webhooks=WebhookStore(engine),
        webhook_secrets=SecretBox(settings.data_dir, settings.webhook_key),
        batches=BatchStore(engine),
        batch_queue=BatchQueue(settings),
        templates=TemplateStore(engine),
    )
