"""Mention and alias normalisation for exact matching: case, Unicode, Greek letters, hyphens, plurals."""

from __future__ import annotations

import re
import unicodedata

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "ο": "omicron",
    "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "χ": "chi",
    "ψ": "psi", "ω": "omega",
}  # fmt: skip
_TOKEN = re.compile(r"[a-z]+|[0-9]+")
_KEEP_S = ("ss", "us", "is", "sis", "xis", "ous")


def singular(word: str) -> str:
    """A conservative English singular: ``diseases`` -> ``disease``, ``therapies`` -> ``therapy``."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_KEEP_S):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1]


def normalize(text: str) -> str:
    """The matching key of a name: lower case, accents and Greek letters spelled out, punctuation and
    hyphens as word breaks, letters split from digits, each word singular (``Type-II Diabetes`` and
    ``type II diabetes`` meet)."""
    text = "".join(f" {GREEK[c]} " if c in GREEK else c for c in text.lower())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(singular(t) for t in _TOKEN.findall(text))
