"""Entry point for gunicorn (``app:app``) and the ``flask`` CLI."""

from kmvolunteer import create_app

app = create_app()
