"""The agency's party organization (机关党委) and the work committee above agencies (机关工委): the results of
their branches and members, read-only. It reads the tallies, so it sits on their floor; no feature imports it."""
