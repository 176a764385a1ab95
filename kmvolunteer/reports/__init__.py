"""双报告: member and branch reports, community feedback to employers, year-end evaluations, year rules."""
