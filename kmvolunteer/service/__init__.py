"""服务记录: members log service hours; community secretaries approve, return or reject."""
