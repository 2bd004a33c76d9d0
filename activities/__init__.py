"""Activities: every side effect of a deployment workflow lives here."""
