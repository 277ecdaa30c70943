"""Writes the first version of every DOCX form template into templates/.

    .venv/bin/python -m tools.build_templates [FORM_ID …] [--force]

Templates are then the agencies' to edit; this never overwrites one unless asked (--force).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import templates_commitments, templates_liaison, templates_verification

BUILDERS = {**templates_liaison.TEMPLATES, **templates_commitments.TEMPLATES, **templates_verification.TEMPLATES}
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("forms", nargs="*", help="form ids (default: all)")
    parser.add_argument("--force", action="store_true", help="overwrite existing templates")
    parser.add_argument("--out", type=Path, default=TEMPLATES_DIR)
    args = parser.parse_args(argv)
    wanted = args.forms or sorted(BUILDERS)
    unknown = [f for f in wanted if f not in BUILDERS]
    if unknown:
        print(f"unknown forms: {', '.join(unknown)}", file=sys.stderr)
        return 2
    for form_id in wanted:
        path = args.out / f"{form_id}.docx"
        if path.exists() and not args.force:
            print(f"kept     {path} (use --force to rebuild)")
            continue
        BUILDERS[form_id]().save(path)
        print(f"written  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
