"""Domain-free helpers: audit, htmx, time, exports, pagination."""
