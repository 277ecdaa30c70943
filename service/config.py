"""One frozen settings object, read from ``CHENGNUO_*`` environment variables (and an optional ``.env`` file).

Every setting has a working default, so the service runs with none set. Invalid values stop the
service at start with a ConfigurationError naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from dotenv import dotenv_values

from .errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production")
STORAGES = ("folder", "database", "s3")
AUDIT_HEADS = ("file", "s3")


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | production: production needs its own TSA (CHENGNUO_TSA_URL)
    data_dir: Path = Path("data")
    base_url: str = "http://127.0.0.1:8000"
    database_url: str = ""  # default: SQLite in the data folder
    storage: str = "folder"  # where issued files live: folder (data_dir/files) | database (the registry's) | s3
    s3_endpoint: str = ""  # an S3-compatible server's URL; default: AWS. Credentials: the usual AWS_* variables
    s3_bucket: str = ""  # required with storage=s3; the operator creates it
    s3_region: str = "us-east-1"
    storage_timeout: float = 10.0  # seconds the store has to connect, and again to answer
    audit_head: str = "file"  # where the audit chain's head is kept: file (data_dir/audit.head) | s3 (the bucket's audit/head: nodes on several machines)
    agencies_file: Path = PROJECT_ROOT / "config" / "agencies.toml"
    templates_dir: Path = PROJECT_ROOT / "templates"
    certs_dir: Path = PROJECT_ROOT / "certs"
    trust_roots: str = ""  # comma-separated PEM/DER files; default: the development root in certs_dir
    persons_ca: str = ""  # PKCS#12 of the CA that issues staff and event certificates; default: the development PKI's
    persons_ca_passphrase_file: str = ""  # default: the development PKI's passphrase
    tsa_url: str = ""  # an RFC 3161 TSA; default, in development only: the development PKI's TSA on loopback
    tsa_timeout: float = 10.0
    ltv_renew_days: int = 365  # `ltv renew` adds an archival timestamp where the last one's TSA certificate ends within this many days
    timezone: str = "Asia/Shanghai"
    converter_workers: int = 2
    converter_timeout: float = 60.0
    converter_start_timeout: float = 60.0
    converter_max_jobs: int = 200
    converter_queue_limit: int = 16
    converter_queue_wait: float = 10.0
    uno_python: str = "/usr/bin/python3"
    soffice: str = "soffice"
    font_set: bool = True  # LibreOffice gets the narrowed CJK faces of service/converting/fontset.py
    fonts_dir: Path = PROJECT_ROOT / ".cache" / "fonts"
    max_request_bytes: int = 2 * 1024 * 1024
    verify_max_bytes: int = 20 * 1024 * 1024  # larger uploads get 413
    verify_timeout: float = 20.0  # seconds one upload may take to check
    verify_memory_mb: int = 1536  # address space of a verification worker
    verify_workers: int = 2
    verify_queue_limit: int = 2  # uploads that may wait for a verification worker; beyond, 503 at once
    idempotency_wait: float = 60.0
    signing_link_hours: float = 72.0  # how long a signing link may be used
    log_level: str = "INFO"
    secret_key: str = ""  # signs session cookies; default: generated once into the data folder
    public_rate_limit: str = "60 per minute"  # per client address, on verification and the public pages
    login_rate_limit: str = "10 per minute"  # per client address, on sign-in
    redis_url: str = ""  # redis://host:port/db: rate limits and the batch queue shared by every node; default: per process
    batch_workers: int = 1  # threads of this process that issue batch rows (0: none; `python -m service worker` runs only them)
    batch_chunk: int = 8  # rows per queue message (and per LibreOffice load when converting in bulk)
    batch_max_rows: int = 5000  # rows in one batch
    batch_max_bytes: int = 16 * 1024 * 1024  # an uploaded batch file, or a JSON batch
    batch_retries: int = 40  # deliveries of one message before its rows are left pending (then: `batch resume`)
    batch_message_seconds: float = 600.0  # the longest one message may take
    batch_keep_days: float = 30.0  # a finished batch keeps its rows' data (applicants' details) this long; then only outcomes
    batch_heartbeat_seconds: float = 15.0  # with Redis: a worker silent this long is dead, and its messages go back to the queue
    id_hash_key: str = ""  # 64 hex characters keying ID hashes (certificates, the false-commitment record); default: the data folder's
    trusted_proxies: int = 0  # proxies in front of the service whose X-Forwarded-For to believe
    webhook_key: str = ""  # seals webhook secrets at rest; default: generated once into the data folder
    webhook_timeout: float = 5.0  # seconds a receiver has to connect, and again to answer
    holidays_file: Path = PROJECT_ROOT / "config" / "holidays.toml"  # the operator's holiday years (workdays.py); optional
    due_soon_days: int = 3  # a deadline within this many days is "due soon" on the lists
    idempotency_ttl_hours: float = 24.0  # an Idempotency-Key is remembered this long, then pruned

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'chengnuo.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def trust_root_files(self) -> list[Path]:
        if self.trust_roots.strip():
            return [Path(p.strip()).expanduser() for p in self.trust_roots.split(",") if p.strip()]
        sm2_root = self.certs_dir / "sm2-root-ca.pem"  # the development PKI's SM2 root (国密), beside the RSA one
        return [self.certs_dir / "root-ca.pem", *([sm2_root] if sm2_root.is_file() else [])]


_MAY_BE_ZERO = {"trusted_proxies", "verify_queue_limit"}


def _convert(name: str, raw: str, current: object) -> object:
    try:
        if isinstance(current, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(current, int):
            value = int(raw)
        elif isinstance(current, float):
            value = float(raw)
        elif isinstance(current, Path):
            return Path(raw).expanduser()
        else:
            return raw
    except ValueError:
        raise ConfigurationError(
            f"配置项 CHENGNUO_{name.upper()} 的值 {raw!r} 无效", f"CHENGNUO_{name.upper()}={raw!r} is not a number"
        ) from None
    if value < 0 or (value == 0 and name not in _MAY_BE_ZERO):
        raise ConfigurationError(
            f"配置项 CHENGNUO_{name.upper()} 必须大于 0", f"CHENGNUO_{name.upper()} must be greater than 0"
        )
    return value


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from ``environ`` (default: os.environ), over values in ``env_file`` (default ``./.env``)."""
    values: dict[str, str] = {}
    env_path = env_file or Path(os.environ.get("CHENGNUO_ENV_FILE", ".env"))
    if env_path.is_file():
        values.update({k: v for k, v in dotenv_values(env_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    settings = Settings()
    changes: dict[str, object] = {}
    for field in fields(Settings):
        key = f"CHENGNUO_{field.name.upper()}"
        if key in values and values[key] != "":
            changes[field.name] = _convert(field.name, values[key], getattr(settings, field.name))
    changes.update(overrides)
    settings = replace(settings, **changes)
    if settings.env not in ENVIRONMENTS:
        raise ConfigurationError(f"CHENGNUO_ENV 必须是 {' 或 '.join(ENVIRONMENTS)}（现为 {settings.env!r}）",
                                 f"CHENGNUO_ENV must be {' or '.join(ENVIRONMENTS)}, not {settings.env!r}")
    if settings.storage not in STORAGES:
        raise ConfigurationError(f"CHENGNUO_STORAGE 必须是 {'、'.join(STORAGES)} 之一（现为 {settings.storage!r}）",
                                 f"CHENGNUO_STORAGE must be one of {', '.join(STORAGES)}, not {settings.storage!r}")
    if settings.storage == "s3" and not settings.s3_bucket:
        raise ConfigurationError("CHENGNUO_STORAGE=s3 需要 CHENGNUO_S3_BUCKET", "CHENGNUO_STORAGE=s3 needs CHENGNUO_S3_BUCKET")
    if settings.audit_head not in AUDIT_HEADS:
        raise ConfigurationError(f"CHENGNUO_AUDIT_HEAD 必须是 {'、'.join(AUDIT_HEADS)} 之一（现为 {settings.audit_head!r}）",
                                 f"CHENGNUO_AUDIT_HEAD must be one of {', '.join(AUDIT_HEADS)}, not {settings.audit_head!r}")
    if settings.audit_head == "s3" and not settings.s3_bucket:
        raise ConfigurationError("CHENGNUO_AUDIT_HEAD=s3 需要 CHENGNUO_S3_BUCKET", "CHENGNUO_AUDIT_HEAD=s3 needs CHENGNUO_S3_BUCKET")
    if settings.id_hash_key and not re.fullmatch(r"[0-9a-fA-F]{64}", settings.id_hash_key):
        raise ConfigurationError("CHENGNUO_ID_HASH_KEY 应为 64 个十六进制字符（32 字节）", "CHENGNUO_ID_HASH_KEY must be 64 hex characters (32 bytes)")
    if settings.tsa_url and not settings.tsa_url.startswith(("http://", "https://")):
        raise ConfigurationError("CHENGNUO_TSA_URL 必须以 http:// 或 https:// 开头", "CHENGNUO_TSA_URL must start with http:// or https://")
    if not settings.base_url.startswith(("http://", "https://")):
        raise ConfigurationError("CHENGNUO_BASE_URL 必须以 http:// 或 https:// 开头", "CHENGNUO_BASE_URL must start with http:// or https://")
    return replace(settings, base_url=settings.base_url.rstrip("/"))
