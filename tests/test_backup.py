"""Backup and restore as docs/deploy.md describes it: `pg_dump` of the registry (with the files, when they are kept
in the database), the audit head beside it; restored into a fresh database and data folder, every document still
verifies against the registry and the audit chain verifies."""

from __future__ import annotations

import shutil
import subprocess

from service.auth.principal import OPERATOR
from service.config import load_settings
from service.issuing import issue
from service.runtime import build_services
from service.verification import verify
from service.voiding import void

from .conftest import sample


def services_on(url, data_dir, pool, sandbox):
    settings = load_settings(environ={"CHENGNUO_DATA_DIR": str(data_dir), "CHENGNUO_DATABASE_URL": url, "CHENGNUO_STORAGE": "database",
                                      "CHENGNUO_ID_HASH_KEY": "cd" * 32})
    return build_services(settings, converter=pool, sandbox=sandbox)


def shut(services) -> None:
    """Lets go of the database; the converter and the verification workers are the session's, shared (not stopped)."""
    services.instances.close()
    services.registry.engine.dispose()


def test_a_backup_restored_into_a_fresh_database_verifies_every_document_and_the_audit_chain(postgres, pg_url, tmp_path, pool, sandbox):
    old = services_on(pg_url, tmp_path / "old", pool, sandbox)
    issued = [issue(old, form, sample(form), principal=OPERATOR, agency_id="jc-justice").document
              for form in ("commitment-letter", "internal-verification", "liaison-form")]
    void(old, OPERATOR, issued[2].id, "填写错误")
    pdfs = {d.id: old.files.get(old.registry.get(d.id).pdf_path) for d in issued}
    shut(old)

    dump = tmp_path / "registry.dump"
    database = pg_url.rsplit("/", 1)[1]
    subprocess.run([str(postgres.bin / "pg_dump"), "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", "-Fc", "-f", str(dump),
                    database], check=True, capture_output=True, timeout=120)
    (tmp_path / "new").mkdir()
    shutil.copy(tmp_path / "old" / "audit.head", tmp_path / "new" / "audit.head")  # the guide: back up the head with the dump
    fresh = postgres.new_database()
    subprocess.run([str(postgres.bin / "pg_restore"), "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", "--no-owner",
                    "-d", fresh.rsplit("/", 1)[1], str(dump)], check=True, capture_output=True, timeout=120)

    new = services_on(fresh, tmp_path / "new", pool, sandbox)
    try:
        assert new.audit.verify().ok and new.audit.head_problem() is None
        verdicts = {d.id: verify(new, OPERATOR, new.files.get(new.registry.get(d.id).pdf_path)).verdict for d in issued}
        assert verdicts == {issued[0].id: "valid", issued[1].id: "valid", issued[2].id: "invalid"}  # the voided one stays void
        assert all(new.files.get(new.registry.get(d.id).pdf_path) == pdfs[d.id] for d in issued)
    finally:
        shut(new)
