"""Readers, rules, cross-file checks and coverage. No HTTP, no object store."""
