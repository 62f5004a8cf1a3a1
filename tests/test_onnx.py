"""The ONNX backend: the exported encoder gives the torch model's entities, int8 stays close, and every way
to get it wrong (no export, a stale export, an unknown backend, no onnxruntime) is one clear error."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("onnxruntime")

from kogner.errors import KognerError
from kogner.evaluate import evaluate_documents
from kogner.model import KoGNER, PredictOptions
from kogner.model.checkpoints import WEIGHTS
from kogner.model.onnx import ONNX_DIR, export_encoder

LABELS = {"protein": "protein", "cell_type": "cell type"}


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model"
    shutil.copytree(tiny_checkpoint, path)
    model = KoGNER.from_pretrained(path)
    export_encoder(model.student.encoder, model.tokenizer, path / ONNX_DIR, path / WEIGHTS)
    return path


def test_the_fp32_export_gives_the_torch_entities_and_scores(exported, abstracts):
    docs = abstracts[:20]
    options = PredictOptions(LABELS, 0.3)
    words = [s.tokens for d in docs for s in d.sentences]
    torch_found = KoGNER.from_pretrained(exported).predict_words(words, options)
    onnx_found = KoGNER.from_pretrained(exported, backend="onnx").predict_words(words, options)
    assert any(torch_found)
    assert [[c[:3] for c in s] for s in onnx_found] == [[c[:3] for c in s] for s in torch_found]
    scores = [(a[3], b[3]) for x, y in zip(torch_found, onnx_found, strict=True) for a, b in zip(x, y, strict=True)]
    assert max(abs(a - b) for a, b in scores) < 1e-4


def test_the_int8_export_agrees_with_torch_on_a_real_slice(exported, abstracts):
    docs = abstracts[:20]
    reference = KoGNER.from_pretrained(exported).predict_documents(docs, LABELS)
    quantized = KoGNER.from_pretrained(exported, backend="onnx-int8").predict_documents(docs, LABELS)
    agreement = evaluate_documents(reference, quantized).micro.f1  # torch's entities as the reference
    assert agreement >= 0.9, agreement


@pytest.mark.parametrize(
    ("backend", "setup", "problem"),
    [
        ("onnx", "none", "no onnx export; run `kogner export onnx"),
        ("onnx", "stale", "exported from other weights"),
        ("tensorrt", "none", "unknown backend 'tensorrt'"),
    ],
)
def test_a_missing_stale_or_unknown_export_is_one_line_exit_2(cli, tiny_checkpoint, exported, tmp_path, backend,
                                                               setup, problem):  # fmt: skip
    model = tmp_path / "model"
    shutil.copytree(exported if setup == "stale" else tiny_checkpoint, model)
    if setup == "stale":  # the weights changed after the export
        data = bytearray((model / WEIGHTS).read_bytes())
        data[-1] ^= 1
        (model / WEIGHTS).write_bytes(bytes(data))
    (tmp_path / "in.txt").write_text("IL-2 activates T cells.")
    code, _, err = cli("predict", tmp_path / "in.txt", tmp_path / "out.jsonl", "--model", model, "--labels",
                       "protein", "--backend", backend)  # fmt: skip
    assert code == 2 and err.startswith("error: ") and problem in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out.jsonl").exists()


def test_without_onnxruntime_the_backend_says_which_extra_to_install(exported, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    with pytest.raises(KognerError, match=r"needs the \[onnx\] extra"):
        KoGNER.from_pretrained(exported, backend="onnx")


def test_the_cli_export_writes_both_files(cli, tiny_checkpoint, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, model)
    code, _, err = cli("export", "onnx", model)
    assert code == 0, err
    assert {"encoder.onnx", "encoder.int8.onnx", "manifest.json"} <= {p.name for p in (model / ONNX_DIR).iterdir()}


def test_the_export_fuses_a_bert_encoder_and_leaves_the_model_as_it_was_given(tiny_checkpoint, tmp_path):
    import json

    model = KoGNER.from_pretrained(tiny_checkpoint)
    encoder = model.student.encoder.train()
    attention = encoder.config._attn_implementation
    export_encoder(encoder, model.tokenizer, tmp_path / ONNX_DIR, tiny_checkpoint / WEIGHTS)
    assert encoder.training and encoder.config._attn_implementation == attention  # mode and attention restored
    fused = json.loads((tmp_path / ONNX_DIR / "manifest.json").read_text())["fused"]
    assert fused.get("SkipLayerNormalization", 0) > 0, fused  # the optimizer ran: int8 quantises fused nodes
