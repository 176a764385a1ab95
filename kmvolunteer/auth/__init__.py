"""Users, role grants, login, and the one policy module (policy.py)."""
