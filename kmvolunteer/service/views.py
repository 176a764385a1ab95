from __future__ import annotations

from flask import Blueprint

bp = Blueprint("service", __name__)
