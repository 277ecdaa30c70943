"""The signing screen: a person (the applicant, 承诺主体, 委托代理人) reads every page, confirms, and signs by
hand, on a phone through a link or on the window's screen. The screen posts to the same function as the API
(``POST /api/v1/signing/{token}``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from .. import signing_links
from ..auth.http import csrf_token, current_principal
from ..errors import ChengnuoError, Conflict
from ..http.errors import status_of
from ..rendering.page_images import page_png
from ..runtime import Services

bp = Blueprint("signing_pages", __name__, template_folder="templates")


def services() -> Services:
    return current_app.extensions["chengnuo"]


@bp.get("/sign/<token>")
def screen(token: str) -> tuple[str, int]:
    context = {"principal": current_principal(), "csrf_token": csrf_token(), "token": token}
    try:
        view = signing_links.open_link(services(), token)
    except Conflict as exc:
        if exc.code == "link_used":
            return render_template("signed.html", **context), 200
        return render_template("sign_error.html", error=exc, **context), status_of(exc)
    except ChengnuoError as exc:
        return render_template("sign_error.html", error=exc, **context), status_of(exc)
    agency = services().agencies.by_id.get(view.document.agency)
    return render_template("sign.html", view=view, agency=agency, **context), 200


@bp.get("/sign/<token>/pages/<int:page>.png")
def page(token: str, page: int) -> Response:
    view = signing_links.open_link(services(), token)
    response = Response(page_png(services().files.get(view.document.pdf_path), page - 1), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response
