"""The chat screen: the page shell; the JavaScript modules do the rest through `/api` and
Socket.IO."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from frontend.auth import login_required, signed_in_user

__all__ = ["bp"]

bp = Blueprint("chat", __name__)


@bp.get("/")
@login_required
def index() -> Any:
    return render_template("chat.html", user=signed_in_user(), conversation_id=None)


@bp.get("/c/<uuid:conversation_id>")
@login_required
def conversation(conversation_id: Any) -> Any:
    return render_template("chat.html", user=signed_in_user(), conversation_id=str(conversation_id))
