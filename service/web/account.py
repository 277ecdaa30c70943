"""Signing in and out, and the landing page."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for

from ..auth.http import client_address, csrf_token, current_principal
from ..errors import ChengnuoError, NotFound
from ..auth.users import SignInRefused

bp = Blueprint("account", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("account.home")


@bp.get("/")
def home() -> str:
    return render_template("home.html", principal=current_principal(), csrf_token=csrf_token())


@bp.get("/login")
def login_form() -> str:
    return render_template("login.html", csrf_token=csrf_token(), next=request.args.get("next", ""), error=None, username="")


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    services = current_app.extensions["chengnuo"]
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        user = services.users.authenticate(username, password, services.now())
    except SignInRefused as exc:
        services.audit.record(actor=f"public:{client_address()}", action="login", object=f"user:{username[:64]}",
                              outcome="locked" if exc.cause == "locked" else "failure", detail={"error": exc.code, "cause": exc.cause})
        return _login_page(exc, username), 401
    session.clear()
    session.permanent = True
    session["user_id"] = user.id
    csrf_token()
    services.audit.record(actor=f"user:{user.username}", action="login", object=f"user:{user.username}", outcome="success",
                          detail={"address": client_address()})
    return redirect(_safe_next(request.form.get("next")))


def _login_page(error: ChengnuoError, username: str = "") -> str:
    return render_template("login.html", csrf_token=csrf_token(), next=request.form.get("next", ""), error=error, username=username)


@bp.errorhandler(429)
def _too_many(_error: Exception) -> tuple[str, int]:
    """The sign-in rate limit (per client address), answered on the sign-in page."""
    return _login_page(ChengnuoError("登录尝试过于频繁，请稍后再试", "too many sign-in attempts from this address; try again later"),
                       request.form.get("username", "")), 429


@bp.post("/logout")
def logout() -> Response:
    principal = current_principal()
    if principal is not None:
        current_app.extensions["chengnuo"].audit.record(actor=principal.actor, action="logout", object=f"user:{principal.name}",
                                                        outcome="success")
    session.clear()
    return redirect(url_for("account.login_form"))


@bp.get("/account/signature")
def my_signature() -> Response | str:
    principal = current_principal()
    if principal is None or principal.kind != "user":
        return redirect(url_for("account.login_form", next="/account/signature"))
    services = current_app.extensions["chengnuo"]
    user = services.users.get(principal.name)
    return render_template("my_signature.html", principal=principal, csrf_token=csrf_token(), user=user,
                           has_image=services.users.signature_image(user.id) is not None)


@bp.get("/account/signature.png")
def my_signature_png() -> Response:
    principal = current_principal()
    image = current_app.extensions["chengnuo"].users.signature_image(principal.id) if principal and principal.kind == "user" else None
    if image is None:
        raise NotFound("没有保存的手写签名", "no saved signature", code="not_found")
    return Response(image, mimetype="image/png", headers={"Cache-Control": "private, no-store"})
