"""The spaCy component: registered factory, pipe() batching through the core, spans, n_process=2."""

from __future__ import annotations

from itertools import pairwise

import pytest

spacy = pytest.importorskip("spacy")

from kogner.annotate import annotate_texts  # noqa: E402
from kogner.model import KoGNER, PredictOptions  # noqa: E402

LABELS = ["protein", "cell type"]


@pytest.fixture(scope="module")
def texts(abstracts):
    return [s.text for d in abstracts[:6] for s in d.sentences][:40]


def _nlp(tiny_checkpoint, **config):
    nlp = spacy.blank("en")
    nlp.add_pipe("kogner", config={"model": str(tiny_checkpoint), "labels": LABELS, **config})
    return nlp


def _ents(doc, key=None):
    spans = doc.spans[key] if key else doc.ents
    return [(s.start_char, s.end_char, s.label_) for s in spans]


def test_the_factory_is_registered_by_entry_point_with_a_versioned_name():
    from importlib.metadata import entry_points

    assert {"kogner", "kogner_v1"} <= {e.name for e in entry_points(group="spacy_factories")}
    spacy.blank("en")  # a new Language loads the entry points, without importing kogner first
    assert spacy.language.Language.has_factory("kogner") and spacy.language.Language.has_factory("kogner_v1")


def test_call_and_pipe_give_the_same_entities_as_the_core(tiny_checkpoint, texts):
    nlp = _nlp(tiny_checkpoint, spans_key="kogner")
    piped = list(nlp.pipe(texts, batch_size=16))
    called = [nlp(t) for t in texts[:5]]
    assert [_ents(d, "kogner") for d in called] == [_ents(d, "kogner") for d in piped[:5]]
    core = annotate_texts(texts, KoGNER.from_pretrained(tiny_checkpoint), PredictOptions(LABELS))
    expected = [[(m.start, m.end, m.label) for m in d.mentions()] for d in core]
    widened = sum(d.user_data["kogner_widened"] for d in piped)
    got = [_ents(d, "kogner") for d in piped]
    assert any(got) and (got == expected or widened > 0)
    scores = piped[0].spans["kogner"].attrs["scores"]
    assert len(scores) == len(piped[0].spans["kogner"]) and all(0 <= s <= 1 for s in scores)


def test_doc_ents_never_overlap_and_misaligned_entities_are_counted_not_fatal(tiny_checkpoint):
    nlp = _nlp(tiny_checkpoint, threshold=0.0)  # every span passes: the hardest case for doc.ents
    doc = nlp("IL-2R alpha/beta chains of T-cells (CD4+) were co-expressed.")
    assert doc.ents and doc.user_data["kogner_widened"] >= 0 and doc.user_data["kogner_dropped"] >= 0
    ends = [(e.start, e.end) for e in doc.ents]
    assert all(a[1] <= b[0] for a, b in pairwise(ends))


def test_pipe_with_two_processes_matches_one(tiny_checkpoint, texts):
    nlp = _nlp(tiny_checkpoint, spans_key="kogner")
    one = [_ents(d, "kogner") for d in nlp.pipe(texts[:12], batch_size=4)]
    two = [_ents(d, "kogner") for d in nlp.pipe(texts[:12], batch_size=4, n_process=2)]
    assert one == two and any(one)
