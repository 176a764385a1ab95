"""反馈函 (feedback letters): at a period's end a community tells each agency whose members or branches
reported in to it how they served — one numbered, immutable letter per agency, verified by serial, received
and acknowledged by the agency's party organization. It reads the reports feature (its year view's rows,
evaluations, unit ratings), so it sits above it; only the agencies' pages and the notices read it."""
