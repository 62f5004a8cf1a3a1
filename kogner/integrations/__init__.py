"""Integrations with other NLP frameworks (spaCy)."""
