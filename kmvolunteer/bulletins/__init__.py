"""通报 (bulletins): the organization department's numbered, published ranking of the units of its area, with
those that fell short and good examples. It reads the tallies, so it sits on their floor; no feature imports it."""
