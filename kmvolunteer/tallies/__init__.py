"""年度统计: year rules, year closing, tallies at every level, print and exports."""
