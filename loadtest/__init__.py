"""Load and fault tests against a real gunicorn (`make loadtest`)."""
