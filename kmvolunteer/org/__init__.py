"""The place tree, agencies, branches, members and departments."""
