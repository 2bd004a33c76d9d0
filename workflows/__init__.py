"""Deterministic workflow code: no I/O, no clock but Temporal's, no randomness."""
