"""The torch fast paths: bfloat16 autocast finds torch fp32's entities on real text, collating ahead in a
thread changes nothing but the timing, and every backend name is checked in one place."""

from __future__ import annotations

import pytest
import torch

from kogner.errors import KognerError
from kogner.evaluate import evaluate_documents
from kogner.model import KoGNER
from kogner.model.backends import BACKENDS, check_backend

LABELS = {"protein": "protein", "cell_type": "cell type"}


def test_bf16_autocast_agrees_with_fp32_on_a_real_slice(tiny_checkpoint, abstracts):
    docs = abstracts[:20]
    reference = KoGNER.from_pretrained(tiny_checkpoint).predict_documents(docs, LABELS, threshold=0.3)
    fast = KoGNER.from_pretrained(tiny_checkpoint, backend="torch-bf16")
    found = fast.predict_documents(docs, LABELS, threshold=0.3)
    assert fast.bf16 and any(s.entities for d in reference for s in d.sentences)
    assert evaluate_documents(reference, found).micro.f1 >= 0.9  # fp32's entities as the reference
    assert next(fast.student.parameters()).dtype == torch.float32  # the weights stay fp32; only compute is bf16


def test_an_unknown_backend_names_every_known_one():
    with pytest.raises(KognerError) as error:
        check_backend("tensorrt")
    assert all(name in str(error.value) for name in BACKENDS) and "torch-bf16" in BACKENDS


def test_collating_ahead_in_a_thread_changes_nothing_but_the_timing(tiny_checkpoint, abstracts):
    model = KoGNER.from_pretrained(tiny_checkpoint)
    words = [s.tokens for d in abstracts[:30] for s in d.sentences]
    inline = model.predict_words(words, LABELS, threshold=0.3, batch_size=4)
    ahead = model.predict_words(words, LABELS, threshold=0.3, batch_size=4, prefetch=3)
    assert any(inline) and ahead == inline  # same entities, same scores, same order over many batches
