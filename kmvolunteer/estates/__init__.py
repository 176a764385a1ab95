"""Estates and grids (小区与网格): a community's structure, and where its reported-in members live."""
