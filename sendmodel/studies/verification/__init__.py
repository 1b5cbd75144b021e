"""Verification: the engine against queueing theory, Ciw and independent recursions."""
