"""The bcsi policy pack: CrossGuard guardrails for permission changes (see README.md)."""
