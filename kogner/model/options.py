"""``PredictOptions``: what to find and how to decide, the one options type of every prediction path.

The Python API, the CLI, the REST server, the spaCy component and the annotation jobs all build this type
(each from its own input: keyword arguments, typer options, a JSON body, a spaCy config, a manifest), so a
default is written here once and an option means the same everywhere. It is frozen and hashable: the server
batches requests whose options are equal, and a job records ``to_dict()`` in its manifest to resume with the
same settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from types import SimpleNamespace
from typing import Any, Literal

from kogner.data.records import check_entity_fields
from kogner.errors import KognerError

Labels = Sequence[str] | Mapping[str, str]  # label texts, or {entity type: label text}
Threshold = float | Mapping[str, float]  # one cut, or a cut per entity type or label text


@dataclass(frozen=True)
class PredictOptions:
    """Label texts with the type written on their entities, decision thresholds, decoding, batching, linking,
    abbreviations (:func:`kogner.kg.abbreviations.with_short_forms`).

    ``labels`` is given as texts (each names its own entities) or as ``{type: text}``; it is kept as
    ``(type, text)`` pairs. ``threshold`` is one cut or ``{type or text: cut}`` (unlisted labels keep
    :data:`DEFAULT_THRESHOLD`); it is kept as one cut per label, in label order.
    """

    labels: tuple[tuple[str, str], ...]
    threshold: float | tuple[float, ...] = 0.5
    flat: bool = True  # False: nested entities are kept, crossing ones are not
    multi_label: bool = False  # True: a span may carry several labels
    batch_size: int = 32  # sentences (or windows) per forward pass
    max_batch_words: int = 2048  # padded words per forward pass: bounds memory and one pass's time
    prefetch: int = 0  # batches a background thread tokenises ahead of the model (0: in line; 2 on a GPU)
    on_overflow: Literal["window", "error"] = "window"  # a sentence over the encoder's length
    link_threshold: float = 0.8  # lowest linker score for a KG id on an entity (with a KG attached)
    short_forms: bool = True  # "... disease (VHL)": every VHL of the document takes the long form's type

    def __post_init__(self) -> None:
        pairs = _label_pairs(self.labels)
        object.__setattr__(self, "labels", pairs)
        object.__setattr__(self, "threshold", _cuts(self.threshold, pairs))
        for name in ("batch_size", "max_batch_words"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise KognerError(f"{name} must be a positive integer, not {getattr(self, name)!r}")
        if not isinstance(self.prefetch, int) or isinstance(self.prefetch, bool) or self.prefetch < 0:
            raise KognerError(f"prefetch must be a whole number of batches, not {self.prefetch!r}")
        if self.on_overflow not in ("window", "error"):
            raise KognerError(f"on_overflow must be 'window' or 'error', not {self.on_overflow!r}")
        _check_probability("link_threshold", self.link_threshold)

    @classmethod
    def of(cls, spec: PredictOptions | Labels, **changes: Any) -> PredictOptions:
        """``spec`` itself, or options for the label texts ``spec``; keyword ``changes`` override fields."""
        if isinstance(spec, PredictOptions):
            return cls(**{**spec.fields(), **changes}) if changes else spec
        return cls(spec, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictOptions:
        """The inverse of :meth:`to_dict` (a manifest, a config file)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise KognerError(f"unknown prediction option(s): {', '.join(unknown)}")
        return cls(**data)

    def fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: labels as ``{type: text}``, a per-label threshold as ``{type: cut}``."""
        out = self.fields()
        out["labels"] = dict(self.labels)
        if isinstance(self.threshold, tuple):
            out["threshold"] = {name: cut for (name, _), cut in zip(self.labels, self.threshold, strict=True)}
        return out

    @property
    def texts(self) -> list[str]:
        """The label texts, in order: what the model encodes."""
        return [text for _, text in self.labels]

    @property
    def names(self) -> dict[str, str]:
        """{label text: the type written on its entities}."""
        return {text: name for name, text in self.labels}

    def cuts(self) -> list[float]:
        """One decision threshold per label text, in :attr:`texts` order."""
        return list(self.threshold) if isinstance(self.threshold, tuple) else [self.threshold] * len(self.labels)


# The defaults, read by entry points that show them (CLI help, REST schema, spaCy config): written once, above.
DEFAULTS = SimpleNamespace(**{f.name: f.default for f in fields(PredictOptions) if f.default is not MISSING})
DEFAULT_THRESHOLD: float = DEFAULTS.threshold


def _label_pairs(labels: Labels | Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    if isinstance(labels, Mapping):
        pairs = [(name, text) for name, text in labels.items()]
    elif isinstance(labels, str):
        raise KognerError(f"labels must be a list of label texts, not the string {labels!r}")
    else:
        pairs = [tuple(item) if isinstance(item, tuple | list) else (item, item) for item in labels]
    if not pairs:
        raise KognerError("no labels given: pass at least one label text")
    seen: dict[str, str] = {}
    for pair in pairs:
        if len(pair) != 2:
            raise KognerError(f"a label is a text or a (type, text) pair, not {pair!r}")
        name, text = pair
        try:
            check_entity_fields(name)  # the type is written on entities: a non-empty line of valid Unicode
            check_entity_fields(text)
        except ValueError as exc:
            raise KognerError(str(exc).replace("entity type", "label")) from None
        if text in seen and seen[text] != name:
            raise KognerError(f"label text {text!r} is given for two types ({seen[text]}, {name})")
        seen[text] = name
    return tuple(dict.fromkeys(pairs))  # a repeated (type, text) counts once


def _cuts(threshold: Threshold | Sequence[float], pairs: tuple[tuple[str, str], ...]) -> float | tuple[float, ...]:
    if isinstance(threshold, Mapping):
        names = {name for name, _ in pairs} | {text for _, text in pairs}
        unknown = sorted(set(threshold) - names)
        if unknown:
            raise KognerError(f"threshold for unknown label(s): {', '.join(map(repr, unknown))}")
        threshold = tuple(threshold.get(text, threshold.get(name, DEFAULT_THRESHOLD)) for name, text in pairs)
    if isinstance(threshold, tuple | list):
        if len(threshold) != len(pairs):
            raise KognerError(f"{len(threshold)} thresholds for {len(pairs)} labels")
        cuts = tuple(float(_check_probability("threshold", t)) for t in threshold)
        return cuts[0] if len(set(cuts)) == 1 else cuts
    return float(_check_probability("threshold", threshold))


def _check_probability(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
        raise KognerError(f"{name} must be a number from 0 to 1, not {value!r}")
    return value
