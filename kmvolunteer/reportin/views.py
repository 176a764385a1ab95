from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reportin", __name__)
