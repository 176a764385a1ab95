"""The audit log page (the AuditEntry model lives in core.audit)."""
