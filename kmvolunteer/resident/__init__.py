"""居民点单: residents' requests left on a community's public page, triaged by its secretary."""
