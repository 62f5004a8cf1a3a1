"""From command-line flags to :class:`PredictOptions`: ``--labels`` (comma-separated label texts, or ``TYPE=text``
pairs naming the output types, by default the checkpoint's own) and the decision flags every command shares."""

from __future__ import annotations

from kogner.errors import KognerError
from kogner.model.options import PredictOptions


def parse_labels(items: list[str] | None) -> dict[str, str] | list[str]:
    """``["disease,chemical"]`` -> texts; ``["Disease=disease", "Chemical=chemical"]`` -> {type: text}."""
    parts = [p.strip() for item in items or [] for p in item.split(",") if p.strip()]
    if not parts:
        raise KognerError("no labels given; pass --labels 'disease,chemical' or --labels Disease=disease")
    pairs = [p for p in parts if "=" in p]
    if pairs and len(pairs) != len(parts):
        raise KognerError("--labels mixes TYPE=text pairs and plain texts; use one form")
    if not pairs:
        return list(dict.fromkeys(parts))
    mapping = {}
    for pair in pairs:
        name, text = (x.strip() for x in pair.split("=", 1))
        if not name or not text:
            raise KognerError(f"bad label {pair!r}; expected TYPE=text")
        mapping[name] = text
    return mapping


def labels_or_default(items: list[str] | None, model: str) -> dict[str, str] | list[str]:
    """``--labels`` as given, or the label texts the checkpoint ``model`` was trained with."""
    if items:
        return parse_labels(items)
    from kogner.model.checkpoints import checkpoint_labels

    return checkpoint_labels(model)


def predict_options(labels: list[str] | None, model: str, *, threshold: float, nested: bool = False,
                    multi_label: bool = False, batch_size: int, link_threshold: float,
                    short_forms: bool) -> PredictOptions:  # fmt: skip
    """The options of ``kogner predict`` / ``annotate``, from their shared flags."""
    return PredictOptions(
        labels_or_default(labels, model), threshold, flat=not nested, multi_label=multi_label,
        batch_size=batch_size, link_threshold=link_threshold, short_forms=short_forms,
    )  # fmt: skip
