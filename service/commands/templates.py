"""python -m service templates …: agencies' own templates from the command line, as the operator (every agency).

    templates download FORM --agency A --out F.docx [--version N] [--field-sheet S.docx]
    templates upload FORM FILE.docx --agency A          (prints the upload: id, warnings)
    templates preview FORM UPLOAD_ID --out F.pdf [--data FILE.json] [--current]
    templates publish FORM UPLOAD_ID [--acknowledge-warnings]
    templates versions FORM --agency A
    templates rollback FORM --agency A --to N           (0: back to the built-in template)

Exit 0 when done, 2 for a refused template or invalid data (every problem on standard error), 1 for any other failure.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from ..auth.principal import OPERATOR
from ..errors import InvalidData
from ..registry.templates import TemplateUpload, TemplateVersion
from .common import (
    EXIT_OK,
    guarded,
    operator_services,
    print_json,
    read_json,
)


def _version(version: TemplateVersion) -> dict[str, Any]:
    return {**dataclasses.asdict(version), "builtin": version.builtin}


def _upload(upload: TemplateUpload) -> dict[str, Any]:
    return {name: value for name, value in dataclasses.asdict(upload).items() if name != "problems"} | {"warnings": upload.warnings}


def cmd_download(args: argparse.Namespace) -> int:
    from ..agency_templates.download import field_sheet, template_file

    with operator_services() as services:
        found = template_file(services, OPERATOR, args.agency, args.form, args.version)
        Path(args.out).write_bytes(found.content)
        if args.field_sheet:
            Path(args.field_sheet).write_bytes(field_sheet(services, OPERATOR, args.agency, args.form).content)
    print_json({"form": args.form, "version": found.version, "out": args.out})
    return EXIT_OK


def cmd_upload(args: argparse.Namespace) -> int:
    from ..agency_templates.upload import MAX_BYTES, upload_template

    path = Path(args.file)
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_BYTES + 1)
    except OSError:
        raise InvalidData({"file": [f"文件不存在或不可读 / cannot read the file: {path}"]}) from None
    with operator_services() as services:
        print_json(_upload(upload_template(services, OPERATOR, args.agency, args.form, path.name, content)))
    return EXIT_OK


def cmd_preview(args: argparse.Namespace) -> int:
    from ..agency_templates.preview import preview_current, preview_upload

    data = read_json(args.data) if args.data else None
    with operator_services() as services:
        if args.current:
            upload = services.templates.upload(args.upload_id)
            pdf = preview_current(services, OPERATOR, upload.agency, args.form, data)
        else:
            pdf = preview_upload(services, OPERATOR, args.form, args.upload_id, data)
    Path(args.out).write_bytes(pdf)
    print_json({"form": args.form, "upload": args.upload_id, "out": args.out})
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    from ..agency_templates.publish import publish

    with operator_services() as services:
        print_json(_version(publish(services, OPERATOR, args.form, args.upload_id, acknowledge_warnings=args.acknowledge_warnings)))
    return EXIT_OK


def cmd_versions(args: argparse.Namespace) -> int:
    from ..agency_templates.listing import form_templates

    with operator_services() as services:
        found = form_templates(services, OPERATOR, args.agency, args.form)
    print_json({"agency": found.agency, "form": found.form, "version": found.version, "versions": [_version(v) for v in found.versions]})
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from ..agency_templates.publish import rollback

    with operator_services() as services:
        print_json(_version(rollback(services, OPERATOR, args.agency, args.form, args.to)))
    return EXIT_OK


def register(templates: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds download, upload, preview, publish, versions and rollback to ``templates``."""
    download = templates.add_parser("download", help="the template an agency uses (or a version of it), to edit in Word")
    download.add_argument("form")
    download.add_argument("--agency", help="the agency (default: the configured default)")
    download.add_argument("--version", type=int, help="a version (0: the built-in template; default: the one in use)")
    download.add_argument("--out", required=True, help="where to write the DOCX")
    download.add_argument("--field-sheet", help="also write the field sheet (DOCX) here")
    download.set_defaults(func=guarded(cmd_download))

    upload = templates.add_parser("upload", help="upload an edited template to be checked (exit 2 with every problem when refused)")
    upload.add_argument("form")
    upload.add_argument("file")
    upload.add_argument("--agency", help="the agency (default: the configured default)")
    upload.set_defaults(func=guarded(cmd_upload))

    preview = templates.add_parser("preview", help="an upload as a marked 样稿 PDF, with the seal and signature spots drawn")
    preview.add_argument("form")
    preview.add_argument("upload_id")
    preview.add_argument("--out", required=True, help="where to write the PDF")
    preview.add_argument("--data", help="the form's data as JSON (default: the form's sample)")
    preview.add_argument("--current", action="store_true", help="the upload's agency's template in use instead, to compare")
    preview.set_defaults(func=guarded(cmd_preview))

    publish = templates.add_parser("publish", help="publish an upload as the agency's next version (audited)")
    publish.add_argument("form")
    publish.add_argument("upload_id")
    publish.add_argument("--acknowledge-warnings", action="store_true", help="accept the check's warnings (removed fixed sentences)")
    publish.set_defaults(func=guarded(cmd_publish))

    versions = templates.add_parser("versions", help="an agency's versions of a form's template, newest first, with who and when")
    versions.add_argument("form")
    versions.add_argument("--agency", help="the agency (default: the configured default)")
    versions.set_defaults(func=guarded(cmd_versions))

    rollback = templates.add_parser("rollback", help="a new version with an earlier one's content (audited)")
    rollback.add_argument("form")
    rollback.add_argument("--agency", help="the agency (default: the configured default)")
    rollback.add_argument("--to", type=int, required=True, help="the version to restore (0: the built-in template)")
    rollback.set_defaults(func=guarded(cmd_rollback))
