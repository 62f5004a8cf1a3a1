"""Exact-span scoring agrees with seqeval (strict IOB2); bootstrap statistics behave as specified."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from conftest import CORPUS_NAMES
from kogner.data import write_corpus
from kogner.data.iob import flatten_overlaps, sentence_tags
from kogner.data.records import Entity
from kogner.evaluate import bootstrap_ci, evaluate_documents, paired_bootstrap, sentence_counts


def perturb(documents, labels, seed):
    """Systematic errors: boundary shifts, type swaps, dropped and added mentions."""
    rng = random.Random(seed)
    out = []
    for doc in documents:
        sents = []
        for sent in doc.sentences:
            n, ents = len(sent.tokens), []
            for e in sent.entities:
                r = rng.random()
                if r < 0.1:
                    continue  # dropped
                if r < 0.2:
                    e = Entity(max(0, e.start - 1), e.end, e.label)  # left boundary shift
                elif r < 0.3:
                    e = Entity(e.start, min(n, e.end + 1), e.label)  # right boundary shift
                elif r < 0.4:
                    e = Entity(e.start, e.end, rng.choice([*labels, "Other"]))  # type swap
                ents.append(e)
            if rng.random() < 0.15:  # spurious mention
                start = rng.randrange(n)
                ents.append(Entity(start, min(n, start + rng.randint(1, 3)), rng.choice(labels)))
            sents.append(flatten_overlaps(sent.with_entities(ents))[0])
        out.append(doc.with_sentences(sents))
    return out


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_evaluate_cli_agrees_with_seqeval(cli, test_splits, tmp_path, name):
    gold = test_splits[name].documents
    labels = sorted({e.label for d in gold for s in d.sentences for e in s.entities})
    pred = perturb(gold, labels, seed=len(name))
    write_corpus(gold, tmp_path / "gold.tsv")
    write_corpus(pred, tmp_path / "pred.jsonl")
    code, out, _ = cli("evaluate", "--gold", tmp_path / "gold.tsv", "--pred", tmp_path / "pred.jsonl", "--json")
    assert code == 0
    ours = json.loads(out)
    y_true = [sentence_tags(s) for d in gold for s in d.sentences]
    y_pred = [sentence_tags(s) for d in pred for s in d.sentences]
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    for key in ("precision", "recall", "f1"):
        assert ours["micro"][key] == pytest.approx(
            report["micro avg"][f"{key}-score" if key == "f1" else key], abs=1e-9
        )
    for label in labels:
        assert ours["per_type"][label]["f1"] == pytest.approx(report[label]["f1-score"], abs=1e-9)
    assert ours["macro_f1"] == pytest.approx(np.mean([ours["per_type"][t]["f1"] for t in ours["per_type"]]), abs=1e-12)
    assert 0.4 < ours["micro"]["f1"] < 0.95  # the perturbation really changed the predictions


def test_perfect_and_empty_predictions(test_splits):
    gold = test_splits["ncbi-disease"].documents
    assert evaluate_documents(gold, gold).micro.f1 == 1.0
    empty = [d.with_sentences(s.with_entities([]) for s in d.sentences) for d in gold]
    scores = evaluate_documents(gold, empty)
    assert (scores.micro.tp, scores.micro.fp, scores.micro.fn) == (0, 0, 960)


def test_misaligned_prediction_is_a_user_error(cli, test_splits, tmp_path):
    docs = test_splits["ncbi-disease"].documents
    write_corpus(docs, tmp_path / "gold.tsv")
    write_corpus([d.with_sentences(d.sentences[1:]) for d in docs], tmp_path / "pred.tsv")
    code, _, err = cli("evaluate", "--gold", tmp_path / "gold.tsv", "--pred", tmp_path / "pred.tsv")
    assert code == 2 and "differ from gold" in err


def test_bootstrap_interval_contains_the_point_estimate(test_splits):
    gold = test_splits["bc5cdr"].documents
    pred = perturb(gold, ["Chemical", "Disease"], seed=1)
    ci = bootstrap_ci(sentence_counts(gold, pred), samples=500, seed=0)
    assert ci.low < ci.f1 < ci.high
    assert ci.high - ci.low < 0.05


def test_paired_bootstrap_separates_a_better_system_and_not_an_identical_one(test_splits):
    gold = test_splits["bc5cdr"].documents
    good = sentence_counts(gold, [d.with_sentences(s.with_entities(s.entities[1:]) for s in d.sentences) for d in gold])
    bad = sentence_counts(gold, perturb(gold, ["Chemical", "Disease"], seed=1))
    test = paired_bootstrap(good, bad, samples=500)
    assert test.delta > 0 and test.p_value < 0.01 and test.low > 0
    same = paired_bootstrap(good, good, samples=200)
    assert same.delta == 0 and same.p_value == 1.0


def test_evaluate_cli_reports_bootstrap_and_paired_test(cli, test_splits, tmp_path):
    gold = test_splits["ncbi-disease"].documents
    write_corpus(gold, tmp_path / "gold.tsv")
    write_corpus(perturb(gold, ["Disease"], 1), tmp_path / "a.tsv")
    write_corpus(perturb(gold, ["Disease"], 2), tmp_path / "b.tsv")
    args = ["evaluate", "--gold", tmp_path / "gold.tsv", "--pred", tmp_path / "a.tsv", "--baseline", tmp_path / "b.tsv"]
    code, out, _ = cli(*args, "--bootstrap", "200", "--json")
    result = json.loads(out)
    assert code == 0 and {"bootstrap", "paired_bootstrap"} <= set(result)
    code, out, _ = cli(*args)
    assert code == 0 and "micro" in out and "p =" in out
