"""SmoothQuant for the int8 export: the smoothed copy computes the student's function, its activations into
the smoothed layers lose their outlier channels, and the student it was made from is untouched."""

from __future__ import annotations

import torch

from kogner.model import KoGNER
from kogner.model.collate import collate_words
from kogner.model.smoothquant import Smoothed, smooth_student, smoothing_groups


def test_the_smoothed_copy_scores_real_sentences_as_the_student_does(tiny_checkpoint, abstracts):
    model = KoGNER.from_pretrained(tiny_checkpoint)
    before = {k: v.clone() for k, v in model.student.state_dict().items()}
    smoothed = smooth_student(model.student, model.tokenizer)
    assert smoothed is not None and smoothed is not model.student
    words = [s.tokens for d in abstracts[:3] for s in d.sentences]
    batch = collate_words(model.subwords, words, 512)
    labels = model.encode_labels(["protein", "cell type"])
    with torch.no_grad():
        expected, got = model.student(batch, labels).logits, smoothed(batch, labels).logits
    assert torch.allclose(got, expected, atol=1e-4), (got - expected).abs().max()
    after = model.student.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the student it was given is unchanged


def test_every_attention_input_and_feed_forward_input_is_smoothed(tiny_checkpoint):
    model = KoGNER.from_pretrained(tiny_checkpoint)
    layers = len(model.student.encoder.encoder.layer)
    assert len(smoothing_groups(model.student.encoder)) == 2 * layers
    smoothed = smooth_student(model.student, model.tokenizer)
    for layer in smoothed.encoder.encoder.layer:
        attention = layer.attention.self
        assert all(isinstance(m, Smoothed) for m in (attention.query, attention.key, attention.value))
        assert isinstance(layer.intermediate.dense, Smoothed)
        assert torch.equal(attention.query.inverse, attention.value.inverse)  # one input, one scale


def test_an_encoder_it_does_not_know_is_left_unsmoothed():
    assert smoothing_groups(torch.nn.Sequential(torch.nn.Linear(4, 4))) == []
