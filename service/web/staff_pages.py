"""What every page for signed-in staff shares: the service's parts, the signed-in principal, and the redirect to
the sign-in page for anyone who is not."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, request, url_for

from ..auth.http import current_principal
from ..auth.principal import Principal
from ..runtime import Services


def services() -> Services:
    return current_app.extensions["chengnuo"]


def principal() -> Principal:
    """The signed-in principal (the blueprint's ``signed_in_only`` guarantees there is one)."""
    return current_principal()  # type: ignore[return-value]


def _redirect_to_sign_in() -> Response | None:
    if current_principal() is None:
        return redirect(url_for("account.login_form", next=request.full_path.rstrip("?")))
    return None


def signed_in_only(bp: Blueprint) -> Blueprint:
    """Sends anyone not signed in to the sign-in page, and back here after it."""
    bp.before_request(_redirect_to_sign_in)
    return bp
