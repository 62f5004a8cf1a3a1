"""The ONNX backend: the exported graphs (encoder and heads in one, the encoder alone for label texts) give
the torch model's entities, int8 stays close, an encoder-only export of version 1 still loads, and every way
to get it wrong (no export, a stale or incomplete export, an unknown backend, no onnxruntime) is one clear
error."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("onnxruntime")

from kogner.errors import KognerError
from kogner.evaluate import evaluate_documents
from kogner.model import KoGNER, PredictOptions
from kogner.model.checkpoints import WEIGHTS
from kogner.model.onnx import ONNX_DIR, SPAN_FILES, export_onnx

LABELS = {"protein": "protein", "cell_type": "cell type"}


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model"
    shutil.copytree(tiny_checkpoint, path)
    model = KoGNER.from_pretrained(path)
    export_onnx(model.student, model.tokenizer, path / ONNX_DIR, path / WEIGHTS)
    return path


def test_the_fp32_export_gives_the_torch_entities_and_scores(exported, abstracts):
    docs = abstracts[:20]
    options = PredictOptions(LABELS, 0.3)
    words = [s.tokens for d in docs for s in d.sentences]
    torch_found = KoGNER.from_pretrained(exported).predict_words(words, options)
    onnx_model = KoGNER.from_pretrained(exported, backend="onnx")
    assert onnx_model.text_graph is not None  # the heads run in ONNX Runtime, not in torch
    onnx_found = onnx_model.predict_words(words, options)
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


def test_an_encoder_only_export_of_version_1_loads_with_the_heads_in_torch(exported, abstracts, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(exported, model)
    manifest = json.loads((model / ONNX_DIR / "manifest.json").read_text())
    for key in ("spans", "spans_fused"):
        manifest.pop(key)
    (model / ONNX_DIR / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1}))
    for name in SPAN_FILES.values():
        (model / ONNX_DIR / name).unlink()
    words = [s.tokens for d in abstracts[:5] for s in d.sentences]
    old = KoGNER.from_pretrained(model, backend="onnx")
    assert old.text_graph is None
    found, expected = old.predict_words(words, LABELS), KoGNER.from_pretrained(exported).predict_words(words, LABELS)
    assert [[c[:3] for c in s] for s in found] == [[c[:3] for c in s] for s in expected]


def test_a_kg_augmented_model_exports_its_encoder_only(tmp_path):
    """Its teacher vectors enter between the encoder and the heads, in torch."""
    from kogner.encoder import load_tokenizer, tiny_encoder_config
    from kogner.model import ModelConfig

    encoder = tiny_encoder_config(load_tokenizer("all-MiniLM-L6-v2").vocab_size, hidden=32, layers=1)
    config = ModelConfig(encoder_config=encoder, head_dim=32, width_dim=8, teacher_dim=6, augment=True)
    model = KoGNER.from_config(config)
    model.save_pretrained(tmp_path / "model")
    folder = tmp_path / "model" / ONNX_DIR
    manifest = export_onnx(model.student, model.tokenizer, folder, tmp_path / "model" / WEIGHTS, quantize=False)
    assert "spans" not in manifest and manifest["files"] == {"onnx": "encoder.onnx"}
    assert sorted(p.name for p in folder.iterdir()) == ["encoder.onnx", "manifest.json"]


@pytest.mark.parametrize(
    ("backend", "setup", "problem"),
    [
        ("onnx", "none", "no onnx export; run `kogner export onnx"),
        ("onnx", "stale", "exported from other weights"),
        ("onnx-int8", "incomplete", "spans.int8.onnx: listed in the manifest but missing"),
        ("tensorrt", "none", "unknown backend 'tensorrt'"),
    ],
)
def test_a_missing_stale_or_unknown_export_is_one_line_exit_2(cli, tiny_checkpoint, exported, tmp_path, backend,
                                                               setup, problem):  # fmt: skip
    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint if setup == "none" else exported, model)
    if setup == "incomplete":  # a file the manifest lists was removed
        (model / ONNX_DIR / SPAN_FILES["onnx-int8"]).unlink()
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
    written = {"encoder.onnx", "encoder.int8.onnx", "spans.onnx", "spans.int8.onnx", "manifest.json"}
    assert {p.name for p in (model / ONNX_DIR).iterdir()} == written  # no exporter leftovers (external data)


def test_the_export_fuses_a_bert_encoder_and_leaves_the_model_as_it_was_given(tiny_checkpoint, tmp_path):
    model = KoGNER.from_pretrained(tiny_checkpoint)
    student = model.student.train()
    attention = student.encoder.config._attn_implementation
    export_onnx(student, model.tokenizer, tmp_path / ONNX_DIR, tiny_checkpoint / WEIGHTS, quantize=False)
    assert student.training and student.encoder.config._attn_implementation == attention  # restored
    manifest = json.loads((tmp_path / ONNX_DIR / "manifest.json").read_text())
    for fused in (manifest["fused"], manifest["spans_fused"]):  # the optimizer ran: int8 quantises fused nodes
        assert fused.get("SkipLayerNormalization", 0) > 0, fused


def test_an_encoder_onnx_runtime_cannot_fuse_exports_self_contained_graphs(tiny_checkpoint, abstracts, tmp_path,
                                                                           monkeypatch):  # fmt: skip
    import kogner.model.onnx as onnx_module

    monkeypatch.setattr(onnx_module, "FUSABLE", ())  # as for an architecture the BERT fusions do not know
    model = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, model)
    torch_model = KoGNER.from_pretrained(model)
    manifest = export_onnx(torch_model.student, torch_model.tokenizer, model / ONNX_DIR, model / WEIGHTS, False)
    assert manifest["fused"] == manifest["spans_fused"] == {}
    assert sorted(p.name for p in (model / ONNX_DIR).iterdir()) == ["encoder.onnx", "manifest.json", "spans.onnx"]
    words = [s.tokens for d in abstracts[:5] for s in d.sentences]
    found = KoGNER.from_pretrained(model, backend="onnx").predict_words(words, LABELS)
    assert [[c[:3] for c in s] for s in found] == [[c[:3] for c in s] for s in torch_model.predict_words(words, LABELS)]
