"""``PredictOptions`` is the one options type of every prediction path: normalised once, validated once."""

from __future__ import annotations

import pytest

from kogner.errors import KognerError
from kogner.model.options import DEFAULT_THRESHOLD, PredictOptions


def test_label_texts_name_themselves_and_a_mapping_names_its_types():
    plain = PredictOptions(["disease", "gene"])
    assert plain.labels == (("disease", "disease"), ("gene", "gene"))
    typed = PredictOptions({"Disease": "disease", "Gene": "gene or gene product"})
    assert typed.texts == ["disease", "gene or gene product"]
    assert typed.names == {"disease": "Disease", "gene or gene product": "Gene"}
    assert PredictOptions(["disease", "disease"]).texts == ["disease"]  # a repeated text counts once


def test_per_label_thresholds_accept_types_or_texts_and_default_the_rest():
    options = PredictOptions(
        {"Disease": "disease", "Gene": "gene", "Chemical": "chemical"}, {"Disease": 0.3, "gene": 0.7}
    )
    assert options.cuts() == [0.3, 0.7, DEFAULT_THRESHOLD]
    assert PredictOptions(["a", "b"], {"a": 0.4, "b": 0.4}).threshold == 0.4  # equal cuts collapse to one
    assert PredictOptions(["a", "b"], 0.2).cuts() == [0.2, 0.2]


def test_to_dict_round_trips_and_options_are_hashable():
    options = PredictOptions({"Disease": "disease", "Gene": "gene"}, {"Gene": 0.7}, flat=False, link_threshold=0.6)
    data = options.to_dict()
    assert data["labels"] == {"Disease": "disease", "Gene": "gene"}
    assert data["threshold"] == {"Disease": 0.5, "Gene": 0.7}
    assert PredictOptions.from_dict(data) == options
    assert len({options, PredictOptions.from_dict(data)}) == 1


def test_of_passes_options_through_and_applies_changes_without_touching_the_original():
    base = PredictOptions(["disease"], 0.5)
    assert PredictOptions.of(base) is base
    changed = PredictOptions.of(base, threshold=0.2)
    assert (changed.threshold, base.threshold) == (0.2, 0.5)
    assert PredictOptions.of(["disease"], batch_size=4).batch_size == 4


@pytest.mark.parametrize(
    ("labels", "changes", "message"),
    [
        ([], {}, "no labels"),
        ("disease", {}, "not the string"),
        (["disease", " "], {}, "non-empty"),
        ({"Disease": "disease", "Other": "disease"}, {}, "two types"),
        (["disease"], {"threshold": 1.5}, "from 0 to 1"),
        (["disease"], {"threshold": float("nan")}, "from 0 to 1"),
        (["disease"], {"threshold": {"gene": 0.3}}, "unknown label"),
        (["disease"], {"batch_size": 0}, "positive integer"),
        (["disease"], {"prefetch": -1}, "whole number of batches"),
        (["disease"], {"prefetch": True}, "whole number of batches"),
        (["disease"], {"on_overflow": "truncate"}, "on_overflow"),
        (["disease"], {"link_threshold": -1}, "from 0 to 1"),
    ],
)
def test_bad_options_are_one_clear_error(labels, changes, message):
    with pytest.raises(KognerError, match=message):
        PredictOptions(labels, **changes)


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(KognerError, match="unknown prediction option"):
        PredictOptions.from_dict({"labels": ["disease"], "treshold": 0.3})
