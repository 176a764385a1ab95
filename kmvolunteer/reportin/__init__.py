"""双报到: member and branch report-ins, the three lists (needs, resources, projects) and claims."""
