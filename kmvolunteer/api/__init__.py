"""The open JSON API (/api/v1) for the city's platforms, and the tokens that call it."""
