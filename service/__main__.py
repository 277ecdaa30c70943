"""python -m service: the command line. It acts as the machine's operator and calls the same
functions as the HTTP API.

    issue FORM --data FILE.json --out OUT.pdf [--agency A] [--docx OUT.docx]
    serve [--host H] [--port P]
    verify FILE.pdf [--html OUT.html]
    init-pki
    user add NAME --role clerk|supervisor|admin [--agency A] · user passwd NAME · user list
    key add [--agency A …] [--forms F1,F2] [--name N] · key revoke KEY_ID · key list
    key rotate AGENCY · key compromise AGENCY --since TIME [--note TEXT] · key compromises  (commands/signing_keys.py)
    audit verify · audit acknowledge --note TEXT
    void DOCUMENT_ID --reason TEXT · recover
    db upgrade
    templates check [FORM …] · templates download|upload|preview|publish|versions|rollback …  (commands/templates.py)
    forms
    catalog …  (commands/catalog.py) · case …  (commands/cases.py)
    ltv renew [--within-days N] [--limit N] [--dry-run]  (commands/ltv.py)
    seal make AGENCY [--image PNG] [--valid-days N] [--out FILE.esl] · seal verify FILE.esl  (commands/seals.py)
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import signal
import sys
from pathlib import Path

from . import admin
from .auth.principal import OPERATOR
from .commands import batches as batch_commands
from .commands import cases as case_commands
from .commands import catalog as catalog_commands
from .commands import credit as credit_commands
from .commands import ltv as ltv_commands
from .commands import seals as seal_commands
from .commands import signing_keys as signing_key_commands
from .commands import statistics as statistics_commands
from .commands import templates as template_commands
from .commands.common import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    operator_services,
    print_json,
    report_error,
)
from .config import load_settings
from .errors import ChengnuoError, InvalidData, NotFound, PipelineError
from .logs import configure_logging

_print_json = print_json
_report_error = report_error


def cmd_issue(args: argparse.Namespace) -> int:
    from . import issuing
    from .runtime import build_services

    try:
        raw = json.loads(Path(args.data).read_text(encoding="utf-8"))
    except FileNotFoundError:
        _report_error(InvalidData({"--data": [f"文件不存在 / file not found: {args.data}"]}))
        return EXIT_INVALID
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _report_error(InvalidData({"--data": [f"不是有效的 JSON（{exc}） / not valid JSON ({exc})"]}))
        return EXIT_INVALID
    settings = load_settings(converter_workers=1)
    services = build_services(settings)
    try:
        result = issuing.issue(services, args.form, raw, principal=OPERATOR, agency_id=args.agency)
        record = result.document
        Path(args.out).write_bytes(services.files.get(record.pdf_path))
        if args.docx:
            Path(args.docx).write_bytes(services.files.get(record.docx_path))
    except (InvalidData, NotFound) as exc:
        _report_error(exc)
        return EXIT_INVALID
    except PipelineError as exc:
        _report_error(exc)
        return EXIT_FAILED
    finally:
        services.close()
    _print_json({"id": record.id, "form": record.form, "serial": record.serial, "number": record.number, "sha256": record.sha256})
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .errors import PdfTooLarge, UnusablePdf
    from .http.report_page import render_report_html
    from .runtime import build_services
    from .verification import verify
    from .verifying.report_schema import VerificationReportSchema

    try:
        pdf = Path(args.file).read_bytes()
    except OSError as exc:
        _report_error(UnusablePdf(f"无法读取文件：{args.file}", f"cannot read {args.file} ({exc.strerror})", code="unreadable_file"))
        return EXIT_INVALID
    services = build_services(load_settings(verify_workers=1))
    try:
        report = verify(services, OPERATOR, pdf)
    except (UnusablePdf, PdfTooLarge) as exc:
        _report_error(exc)
        return EXIT_INVALID
    finally:
        services.close()
    if args.html:
        Path(args.html).write_text(render_report_html(report), encoding="utf-8")
    _print_json(VerificationReportSchema().dump(report))
    for reason in report.reasons:
        print(f"  {reason.zh}", file=sys.stderr)
    return EXIT_OK if report.verdict == "valid" else EXIT_FAILED


def cmd_serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    from . import create_app
    from .batches.submit import resume_unfinished
    from .batches.work import start_workers
    from .housekeeping import Housekeeping
    from .signing.timestamps import DEVELOPMENT_NOTE
    from .webhooks.delivery import Deliverer

    settings = load_settings()
    app = create_app(settings)
    services = app.extensions["chengnuo"]
    log = logging.getLogger("chengnuo.serve")
    _announce_sign_in(services, f"http://{args.host}:{args.port}")
    log.info("registered as instance %s", services.instances.id)
    if services.timestamps.development:
        log.warning("timestamps come from the development PKI's TSA (no CHENGNUO_TSA_URL): %s", DEVELOPMENT_NOTE)
    housekeeping = Housekeeping(services)
    housekeeping.run_once()  # what a dead predecessor left half-issued is voided before anything is served
    if problem := services.audit.head_problem():
        log.error("the audit trail's head disagrees with the chain: %s (see /healthz; 'audit verify', then 'audit acknowledge')", problem)
    housekeeping.start()
    if services.settings.batch_workers > 0:  # batch rows; the embedded queue forgets on restart: its rows are queued again
        log.info("queued again the pending rows of unfinished batches: %d", resume_unfinished(services))
        start_workers(services, services.settings.batch_workers)
    deliverer = Deliverer(services)  # webhook deliveries, from its own threads: never a request's
    deliverer.start()
    log.info("starting %d LibreOffice worker(s)…", settings.converter_workers)
    services.converter.start()
    # What start-up built lives as long as the process: out of the cyclic collector's sight, a full
    # collection no longer walks it (each one took ~40 ms, in the middle of someone's request).
    gc.collect()
    gc.freeze()
    # Waitress drops X-Forwarded-* headers unless told otherwise; with trusted proxies, ProxyFix (create_app)
    # believes exactly the last CHENGNUO_TRUSTED_PROXIES hops of them.
    server = create_server(app, host=args.host, port=args.port, threads=args.threads, channel_timeout=120,
                           clear_untrusted_proxy_headers=not settings.trusted_proxies)
    log.info("serving on http://%s:%s (data in %s)", args.host, args.port, settings.data_dir.resolve())

    def stop(*_: object) -> None:
        # The requests being answered finish first (at most 10 s): closing waitress's wake-up pipe under a thread
        # that is still answering made that thread fail with EBADF. Queued requests are cancelled.
        server.task_dispatcher.shutdown(timeout=10)
        server.close()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        log.info("stopping")
        housekeeping.stop()
        deliverer.stop()
        services.close()
    return EXIT_OK


def _announce_sign_in(services, url: str) -> None:  # type: ignore[no-untyped-def]
    """On the first start, creates the administrator and says, once, how to sign in."""
    password = admin.ensure_administrator(services, OPERATOR)
    if password is not None:
        print(f"\n  首次启动 / first start: sign in at {url}/login as 'admin' with password: {password}\n"
              "  （密码只显示这一次 / shown only this once; a new one: .venv/bin/python -m service user passwd admin）\n", flush=True)
    else:
        print(f"\n  Sign in at {url}/login (forgotten password: .venv/bin/python -m service user passwd NAME)\n", flush=True)


def cmd_templates_check(args: argparse.Namespace) -> int:
    """Each template's problems with where they are; fails on an error, and (the built-in templates
    show every field) on a schema field no template shows. Warnings are printed and do not fail."""
    from .forms import CATALOGUE, get_form
    from .rendering.template_check import check_form

    settings = load_settings()
    specs = [get_form(form_id) for form_id in args.forms] if args.forms else list(CATALOGUE.values())
    failed = False
    for spec in specs:
        report = check_form(spec, settings.templates_dir)
        passed = report.ok and not report.unused
        failed = failed or not passed
        print(f"{'ok  ' if passed else 'FAIL'} {spec.id} ({spec.template})")
        for problem in report.problems:
            severity = "错误 / error" if problem.severity == "error" else "警告 / warning"
            print(f"     {severity} [{problem.kind}] {problem.location}: {problem.message}")
            if problem.excerpt:
                print(f"         「{problem.excerpt}」")
        required = {p.en for p in report.problems if p.kind == "required_missing"}
        for path in report.unused:
            if not any(f" {path} " in text for text in required):
                print(f"     未使用的字段 / schema field never used: {path}")
        for label in report.unmarked_labels:
            print(f"     提示：签章位置文字被拆分，签章定位较慢 / note: label split across runs, located more slowly: {label}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_init_pki(_args: argparse.Namespace) -> int:
    from .agencies import load_agencies
    from .runtime import development_pki

    settings = load_settings()
    created = development_pki().init_pki(settings.certs_dir, load_agencies(settings.agencies_file).by_id.values())
    if created:
        for item in created:
            print(f"created  {item}")
        print(f"development PKI in {settings.certs_dir} (trust roots: {', '.join(str(p) for p in settings.trust_root_files)})")
    else:
        print(f"development PKI in {settings.certs_dir} is complete")
    return EXIT_OK


_services = operator_services


def cmd_user_add(args: argparse.Namespace) -> int:
    with _services() as services:
        user, password = admin.add_user(services, OPERATOR, args.name, args.role, args.agency, args.display_name)
    print(f"created user {user.username} ({user.role}{', ' + user.agency if user.agency else ''}); password, shown once:", file=sys.stderr)
    print(password)
    return EXIT_OK


def cmd_user_passwd(args: argparse.Namespace) -> int:
    with _services() as services:
        password = admin.reset_password(services, OPERATOR, args.name)
    print(f"new password of {args.name}, shown once:", file=sys.stderr)
    print(password)
    return EXIT_OK


def cmd_user_list(_args: argparse.Namespace) -> int:
    with _services() as services:
        for user in services.users.list():
            print(f"{user.username:20} {user.role:11} {user.agency or '*'}")
    return EXIT_OK


def cmd_key_add(args: argparse.Namespace) -> int:
    with _services() as services:
        forms = [f.strip() for f in args.forms.split(",") if f.strip()] if args.forms else ["*"]
        record, key = admin.add_key(services, OPERATOR, args.name, args.agency or [services.agencies.default.id], forms)
    print(f"created API key {record.id} ({record.name}) for {', '.join(record.agencies)}, forms {', '.join(record.forms)}.", file=sys.stderr)
    print("The key is shown once; send it as 'Authorization: Bearer <key>':", file=sys.stderr)
    print(key)
    return EXIT_OK


def cmd_key_revoke(args: argparse.Namespace) -> int:
    with _services() as services:
        record = admin.revoke_key(services, OPERATOR, args.key_id)
    print(f"revoked API key {record.id} ({record.name})")
    return EXIT_OK


def cmd_key_list(_args: argparse.Namespace) -> int:
    with _services() as services:
        for key in services.api_keys.list():
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(f"{key.id}  {state:18} {','.join(key.agencies):30} {','.join(key.forms):20} {key.name}")
    return EXIT_OK


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    with _services() as services:
        check = services.audit.verify()
    if check.ok:
        print(f"审计链完整 / the audit chain is intact ({check.entries} entries)")
        return EXIT_OK
    print(f"审计链已被破坏 / the audit chain is broken: {check.problem}")
    return EXIT_FAILED


def cmd_audit_acknowledge(args: argparse.Namespace) -> int:
    with _services() as services:
        entry = services.audit.acknowledge(OPERATOR.actor, args.note)
    print(f"已确认并记入审计第 {entry.seq} 条 / acknowledged in audit entry seq {entry.seq}: {entry.detail.get('problem')}")
    return EXIT_OK


def cmd_void(args: argparse.Namespace) -> int:
    from . import voiding

    with _services() as services:
        record = voiding.void(services, OPERATOR, args.document_id, args.reason)
    print(f"voided {record.serial} ({record.form}, number {record.number or '—'}): {record.void_reason}")
    return EXIT_OK


def cmd_recover(_args: argparse.Namespace) -> int:
    from . import recovery

    with _services() as services:
        voided = recovery.void_interrupted(services)
    for record in voided:
        print(f"voided {record.serial} ({record.form}, number {record.number or '—'}): {record.void_reason}")
    print(f"{len(voided)} document(s) left issuing by a process that is gone were voided")
    return EXIT_OK


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from .registry import schema
    from .registry.db import make_engine

    engine = make_engine(load_settings().database, migrate=False)
    try:
        before = schema.current(engine)
        after = schema.upgrade(engine)
    finally:
        engine.dispose()
    print(f"database schema at revision {after}" + (f" (was {before or 'unversioned'})" if before != after else ""))
    return EXIT_OK


def cmd_fonts(_args: argparse.Namespace) -> int:
    from .converting.fontset import ensure

    settings = load_settings()
    logging.getLogger("service.converting.fontset").setLevel(logging.INFO)  # say so when it builds (~40 s)
    config = ensure(settings.fonts_dir) if settings.font_set else None
    print(f"LibreOffice's font set: {config}" if config else
          "LibreOffice uses the system's fonts (CHENGNUO_FONT_SET is off, or no face to narrow)")
    return EXIT_OK


def cmd_forms(_args: argparse.Namespace) -> int:
    from .forms import CATALOGUE

    for spec in CATALOGUE.values():
        print(f"{spec.id:34} {spec.title}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service", description="告知承诺文书服务 / chengnuo document service")
    sub = parser.add_subparsers(dest="command", required=True)

    issue = sub.add_parser("issue", help="issue one document offline (the whole pipeline)")
    issue.add_argument("form")
    issue.add_argument("--data", required=True, help="the form's data as a JSON file")
    issue.add_argument("--out", required=True, help="where to write the PDF")
    issue.add_argument("--agency", help="issuing agency id (default: the configured default)")
    issue.add_argument("--docx", help="also write the rendered DOCX here")
    issue.set_defaults(func=cmd_issue)

    verify = sub.add_parser("verify", help="verify a PDF that came back (exit 0 valid, 1 invalid/indeterminate, 2 unusable)")
    verify.add_argument("file")
    verify.add_argument("--html", help="also write the printable report here")
    verify.set_defaults(func=cmd_verify)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--threads", type=int, default=8)
    serve.set_defaults(func=cmd_serve)

    templates = sub.add_parser("templates", help="template tools")
    templates_sub = templates.add_subparsers(dest="templates_command", required=True)
    check = templates_sub.add_parser("check", help="check templates against their schemas")
    check.add_argument("forms", nargs="*")
    check.set_defaults(func=cmd_templates_check)
    template_commands.register(templates_sub)

    pki = sub.add_parser("init-pki", help="create or update the development PKI under certs/ (devpki/pki.yml; development and tests only)")
    pki.set_defaults(func=cmd_init_pki)

    user = sub.add_parser("user", help="people who sign in").add_subparsers(dest="user_command", required=True)
    user_add = user.add_parser("add", help="create a user; prints the generated password once")
    user_add.add_argument("name")
    user_add.add_argument("--role", required=True, choices=["clerk", "supervisor", "admin"])
    user_add.add_argument("--agency", help="the agency of a clerk or supervisor")
    user_add.add_argument("--display-name", help="the name they sign with, e.g. 郭文斌 (default: the user name)")
    user_add.set_defaults(func=cmd_user_add)
    user_passwd = user.add_parser("passwd", help="give a user a new generated password (printed once)")
    user_passwd.add_argument("name")
    user_passwd.set_defaults(func=cmd_user_passwd)
    user.add_parser("list", help="list users").set_defaults(func=cmd_user_list)

    key = sub.add_parser("key", help="API keys of calling systems; agencies' signing keys (rotate, compromise)").add_subparsers(dest="key_command", required=True)
    key_add = key.add_parser("add", help="create an API key; prints it once, alone on the last line")
    key_add.add_argument("--agency", action="append", help="agency id (repeat for several; default: the default agency)")
    key_add.add_argument("--forms", help="comma-separated form ids (default: every form)")
    key_add.add_argument("--name", default="calling system", help="what the key is for")
    key_add.set_defaults(func=cmd_key_add)
    key_revoke = key.add_parser("revoke", help="revoke an API key")
    key_revoke.add_argument("key_id")
    key_revoke.set_defaults(func=cmd_key_revoke)
    key.add_parser("list", help="list API keys (never the keys themselves)").set_defaults(func=cmd_key_list)
    signing_key_commands.register(key)

    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify", help="check the hash chain; names the first entry altered or missing").set_defaults(func=cmd_audit_verify)
    acknowledge = audit.add_parser("acknowledge", help="record that a reported head mismatch was checked (itself audited)")
    acknowledge.add_argument("--note", required=True, help="what was found and done")
    acknowledge.set_defaults(func=cmd_audit_acknowledge)

    void = sub.add_parser("void", help="void a document: an issued one, or one stuck 'issuing' (audited)")
    void.add_argument("document_id")
    void.add_argument("--reason", required=True)
    void.set_defaults(func=cmd_void)

    sub.add_parser("recover", help="void the documents left 'issuing' by processes that are gone (the service does it at start)"
                   ).set_defaults(func=cmd_recover)

    db = sub.add_parser("db", help="the registry database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply pending schema migrations (the service does it at start)").set_defaults(func=cmd_db_upgrade)

    fonts = sub.add_parser("fonts", help="build the converter's font set if missing or stale (see rendering/fontset.py)")
    fonts.set_defaults(func=cmd_fonts)

    forms = sub.add_parser("forms", help="list the forms")
    forms.set_defaults(func=cmd_forms)

    catalog_commands.register(sub)
    case_commands.register(sub)
    credit_commands.register(sub)
    statistics_commands.register(sub)
    batch_commands.register(sub)
    ltv_commands.register(sub)
    seal_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level if args.command == "serve" else "WARNING")
        return args.func(args)
    except ChengnuoError as exc:
        _report_error(exc)
        return EXIT_INVALID if isinstance(exc, (InvalidData, NotFound)) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
