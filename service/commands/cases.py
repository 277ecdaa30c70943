"""python -m service case …: cases from the command line, as the operator (every agency).

    case create --data FILE.json                         the body of POST /api/v1/cases
    case show CASE_ID · case list [--agency A] [--q TEXT] [--state S] [--overdue] [--due-within N]
    case step CASE_ID STEP --data FILE.json              STEP: credit-check, decision, verification-result, withdrawal,
                                                         close, materials, credit-report, complaint
    case issue CASE_ID FORM [--item ITEM_ID] [--data FILE.json] [--out OUT.pdf]
    case deadlines [--agency A] (--overdue | --due-within N)

Exit 0 done, 2 invalid data (every bad field on standard error) or unknown case, 1 a step the state does not
allow (the state is named) or any other failure.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from ..auth.principal import OPERATOR
from ..cases import inputs, opening, papers, procedure, queries
from .common import EXIT_OK, operator_services, print_json, read_json

STEPS: dict[str, tuple[type, Any]] = {
    "credit-check": (inputs.CreditCheckSchema, procedure.credit_check),
    "decision": (inputs.DecisionSchema, procedure.decide),
    "verification-result": (inputs.VerificationResultSchema, procedure.record_verification),
    "withdrawal": (inputs.WithdrawalSchema, procedure.withdraw),
    "close": (inputs.CloseSchema, procedure.close),
    "materials": (inputs.MaterialsSchema, procedure.materials),
    "credit-report": (inputs.CreditReportSchema, procedure.credit_report),
    "complaint": (inputs.ComplaintSchema, procedure.complaint),
}


def _view(view: queries.CaseView) -> dict[str, Any]:
    case = dataclasses.asdict(view.case)
    case.pop("applicant_key")
    return {
        **case, "applicant": view.applicant, "overdue": view.overdue,
        "documents": [{"id": d.id, "form": d.form, "serial": d.serial, "number": d.number, "status": d.status,
                       "parties": [{"role": p.role, "state": p.state} for p in d.parties], "void_reason": d.void_reason}
                      for d in view.documents],
        "deadlines": [d.as_dict() for d in view.deadlines],
        "history": view.history,
        "next_actions": [dataclasses.asdict(a) for a in view.next_actions],
    }


def cmd_create(args: argparse.Namespace) -> int:
    data = inputs.parse(inputs.CaseCreateSchema, read_json(args.data))
    with operator_services() as services:
        case = opening.create_case(services, OPERATOR, data)
        print_json(_view(queries.case_view(services, OPERATOR, case.id)))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    with operator_services() as services:
        print_json(_view(queries.case_view(services, OPERATOR, args.case_id)))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    query = {"agency": args.agency or "", "q": args.q or "", "state": args.state or "", "overdue": "true" if args.overdue else "",
             "due_within": "" if args.due_within is None else str(args.due_within)}
    with operator_services() as services:
        found = queries.list_cases(services, OPERATOR, queries.parse_list_query(OPERATOR, query, services.now().date()))
        print_json({"total": found.total, "cases": [
            {"id": c.id, "number": c.number, "agency": c.agency, "state": c.state, "applicant": c.applicant_name,
             "received_on": c.received_on, "items": [i["name"] for i in c.items], "overdue": c.id in found.overdue}
            for c in found.cases]})
    return EXIT_OK


def cmd_step(args: argparse.Namespace) -> int:
    schema, function = STEPS[args.step]
    data = inputs.parse(schema, read_json(args.data))
    with operator_services() as services:
        function(services, OPERATOR, args.case_id, data)
        print_json(_view(queries.case_view(services, OPERATOR, args.case_id)))
    return EXIT_OK


def cmd_issue(args: argparse.Namespace) -> int:
    data = read_json(args.data) if args.data else {}
    with operator_services() as services:
        result = papers.issue_document(services, OPERATOR, args.case_id, args.form, args.item, data)
        document = result.document
        if args.out and document is not None:
            Path(args.out).write_bytes(services.files.get(document.pdf_path))
        print_json({"case": result.case.number, "state": result.case.state, "document": {
            "id": document.id, "form": document.form, "serial": document.serial, "number": document.number,
            "status": document.status} if document else None})
    return EXIT_OK


def cmd_deadlines(args: argparse.Namespace) -> int:
    with operator_services() as services:
        rows = queries.deadline_list(services, OPERATOR, agency=args.agency, overdue=args.overdue, due_within=args.due_within)
        print_json({"deadlines": [{"case": r.case_number, "case_id": r.case_id, "applicant": r.applicant, "state": r.state,
                                   **r.deadline.as_dict()} for r in rows]})
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds ``case`` to the command line."""
    case = sub.add_parser("case", help="cases (办件): open one, take its steps, issue its papers, list deadlines")
    commands = case.add_subparsers(dest="case_command", required=True)
    create = commands.add_parser("create", help="open a case (the JSON of POST /api/v1/cases)")
    create.add_argument("--data", required=True, help="JSON file, or - for standard input")
    create.set_defaults(func=cmd_create)
    show = commands.add_parser("show", help="a case: state, deadlines, documents, history, next actions")
    show.add_argument("case_id")
    show.set_defaults(func=cmd_show)
    listing = commands.add_parser("list", help="cases, newest received first")
    listing.add_argument("--agency")
    listing.add_argument("--q", help="applicant name or case number, in part")
    listing.add_argument("--state")
    listing.add_argument("--overdue", action="store_true", help="only cases with an overdue deadline")
    listing.add_argument("--due-within", type=int, help="only cases with a deadline due within N days")
    listing.set_defaults(func=cmd_list)
    step = commands.add_parser("step", help="take a step of the procedure")
    step.add_argument("case_id")
    step.add_argument("step", choices=list(STEPS))
    step.add_argument("--data", required=True, help="JSON file, or - for standard input")
    step.set_defaults(func=cmd_step)
    issue = commands.add_parser("issue", help="issue the case's letter or a verification paper, filled from the case")
    issue.add_argument("case_id")
    issue.add_argument("form")
    issue.add_argument("--item", help="the catalogue item, when the case has several")
    issue.add_argument("--data", help="what the case cannot know (JSON file)")
    issue.add_argument("--out", help="write the PDF here")
    issue.set_defaults(func=cmd_issue)
    deadlines = commands.add_parser("deadlines", help="an agency's overdue or due-soon deadlines")
    deadlines.add_argument("--agency")
    which = deadlines.add_mutually_exclusive_group(required=True)
    which.add_argument("--overdue", action="store_true")
    which.add_argument("--due-within", type=int, metavar="DAYS")
    deadlines.set_defaults(func=cmd_deadlines)
