"""ONNX Runtime: export (``kogner export onnx``), int8 dynamic quantisation, and the runtime pieces behind
``KoGNER.from_pretrained(path, backend="onnx" | "onnx-int8")``.

Two graphs per precision. ``spans*.onnx`` is the student's text path in one graph: encoder, word pooling,
span head and the span x label product, with the label vectors an input (they stay cached), so the heads'
elementwise work (a quarter of fp32 prediction time) runs fused and quantised too. ``encoder*.onnx`` is the
encoder alone: it encodes label texts, and is the text path of a KG-augmented model, whose injected teacher
vectors stay in PyTorch (no spans graph is written for one). Every backend shares the decoder.

The export goes through ``torch.export`` with eager attention (the SDPA graph runs slower in ONNX Runtime),
then ONNX Runtime's transformer optimizer fuses LayerNorm, residual and GELU nodes where it knows the
architecture (BERT-style encoders), and the fused graphs are quantised, one scale per output channel, from
a SmoothQuant copy of the student (:mod:`kogner.model.smoothquant`).
``onnx/manifest.json`` records a checksum of the weights it was exported from, so a stale export is refused
instead of giving another model's scores.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import torch

from kogner.errors import KognerError
from kogner.io import atomic_open
from kogner.model.backends import Backend, check_backend
from kogner.model.collate import TextBatch, collate_words
from kogner.model.smoothquant import smooth_student
from kogner.model.student import SpanStudent, pair_scores
from kogner.model.subwords import Subwords

ONNX_DIR = "onnx"
FILES = {"onnx": "encoder.onnx", "onnx-int8": "encoder.int8.onnx"}
SPAN_FILES = {"onnx": "spans.onnx", "onnx-int8": "spans.int8.onnx"}
FORMAT_VERSION = 2  # 1: the encoder only (heads in PyTorch); still loaded
SAMPLE = [["Germline", "BRCA1", "mutations", "cause", "breast", "cancer", "."], ["IL", "-", "2"]]


def weights_checksum(weights: Path) -> str:
    digest = hashlib.sha256()
    with open(weights, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _runtime():
    try:
        import onnxruntime
    except ImportError:
        raise KognerError("the ONNX backend needs the [onnx] extra: pip install 'kogner[onnx]'") from None
    return onnxruntime


class _Hidden(torch.nn.Module):
    """The encoder's last hidden state only: the one output the student reads."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


class _Spans(torch.nn.Module):
    """Text in, span x label logits out: the student's forward at inference (no dropout, no KG input)."""

    def __init__(self, student: SpanStudent) -> None:
        super().__init__()
        self.student = student

    def forward(self, input_ids, attention_mask, word_starts, word_ends, label_vectors) -> torch.Tensor:
        batch = SimpleNamespace(
            input_ids=input_ids, attention_mask=attention_mask, word_starts=word_starts, word_ends=word_ends
        )
        return pair_scores(self.student.span_vectors(self.student.word_states(batch)), label_vectors)


def export_onnx(student: SpanStudent, tokenizer, folder: Path, weights: Path, quantize: bool = True) -> dict:
    """Write the encoder graph and (for a model without KG augmentation) the spans graph, fp32 and with
    ``quantize`` int8 (from a SmoothQuant copy where the encoder is BERT-style), with dynamic batch, length,
    word and label axes, then the manifest. Files of an earlier export are replaced; ``student`` is left as it
    was given (mode and attention implementation)."""
    _runtime()
    folder.mkdir(parents=True, exist_ok=True)
    smoothed = smooth_student(student, tokenizer) if quantize else None
    manifest = {"format_version": FORMAT_VERSION, "weights_checksum": weights_checksum(weights), "opset": 18,
                "int8_smoothquant": smoothed is not None}  # fmt: skip
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export.") as tmp:
        for name, files in (("encoder", FILES), ("spans", SPAN_FILES)):
            if name == "spans" and student.config.augment:
                continue  # its teacher vectors enter between the encoder and the heads, in torch
            fused = _write_graph(name, student, tokenizer, Path(tmp) / files["onnx"])
            written = {"onnx": files["onnx"]}
            if quantize:
                source = Path(tmp) / files["onnx"]
                if smoothed is not None:
                    source = Path(tmp) / f"smoothed.{files['onnx']}"
                    _write_graph(name, smoothed, tokenizer, source)
                _quantize(source, Path(tmp) / files["onnx-int8"])
                written["onnx-int8"] = files["onnx-int8"]
            for path in written.values():
                os.replace(Path(tmp) / path, folder / path)
            manifest["files" if name == "encoder" else name] = written
            manifest["fused" if name == "encoder" else f"{name}_fused"] = fused
    stale = [folder / f"{FILES['onnx']}.data"]  # the exporter's external data, left beside version 1 exports
    if "spans" not in manifest:
        stale += [folder / name for name in SPAN_FILES.values()]  # an earlier export's, of other weights
    for path in stale:
        path.unlink(missing_ok=True)
    with atomic_open(folder / "manifest.json") as fh:
        fh.write(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _write_graph(name: str, student: SpanStudent, tokenizer, path: Path) -> dict[str, int]:
    """The ``encoder`` or ``spans`` graph of ``student`` at ``path``, exported and fused; the fused node counts."""
    sample = collate_words(Subwords(tokenizer), SAMPLE, 64)
    batch, length = torch.export.Dim("batch", min=1, max=65536), torch.export.Dim("length", min=2, max=4096)
    axes: dict = {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}}
    inputs: tuple = (sample.input_ids, sample.attention_mask)
    module: torch.nn.Module = _Hidden(student.encoder)
    if name == "spans":
        words = torch.export.Dim("words", min=1, max=4096)
        axes |= {"word_starts": {0: batch, 1: words}, "word_ends": {0: batch, 1: words},
                 "label_vectors": {0: torch.export.Dim("labels", min=1, max=65536)}}  # fmt: skip
        inputs += (sample.word_starts, sample.word_ends, torch.randn(2, student.config.head_dim))
        module = _Spans(student)
    training, attention = student.training, getattr(student.encoder.config, "_attn_implementation", None)
    try:
        student.eval()
        if attention not in (None, "eager"):
            student.encoder.set_attn_implementation("eager")
        with torch.no_grad():
            torch.onnx.export(
                module, inputs, str(path), input_names=list(axes), dynamic_shapes=axes, opset_version=18,
                output_names=["hidden" if name == "encoder" else "logits"], dynamo=True, verbose=False,
                external_data=False,  # one self-contained file (under ONNX's 2 GB), whether fused or not
            )  # fmt: skip
    finally:
        student.train(training)
        if attention not in (None, "eager"):
            student.encoder.set_attn_implementation(attention)
    return _fuse(path, student.encoder.config)


def _quantize(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(  # per output channel: per tensor cost up to 5.8 F1 points (benchmarks/onnx_cpu.py)
        source, target, weight_type=QuantType.QInt8, per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # the fused nodes' outputs have no type
    )  # fmt: skip


FUSABLE = ("bert", "roberta", "xlm-roberta", "camembert", "electra")  # what ONNX Runtime's BERT fusions know


def _fuse(path: Path, config) -> dict[str, int]:
    """Rewrite ``path`` with ONNX Runtime's transformer fusions for a BERT-style encoder; the fused node counts
    (empty, graph untouched, for other architectures)."""
    if getattr(config, "model_type", None) not in FUSABLE:
        return {}
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(
        str(path), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
    )
    model.save_model_to_file(str(path))
    return {name: count for name, count in model.get_fused_operator_statistics().items() if count}


def _session(path: Path, threads: int | None = None):
    runtime = _runtime()
    options = runtime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    # no busy-waiting after a run: torch's thread pool (heads, decoding) runs right after, on the same cores
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # every batch has its own shape: an arena or a memory pattern keeps the largest batch's buffers (peak
    # RSS above torch's, measured) and runs no faster
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    return runtime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEncoder(torch.nn.Module):
    """An ONNX Runtime session in the encoder's place: same call, same ``last_hidden_state``, no torch weights."""

    def __init__(self, path: Path, config, threads: int | None = None) -> None:
        super().__init__()
        self.session = _session(path, threads)
        self.config = config  # the transformers config: hidden size for the heads

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        feed = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        (hidden,) = self.session.run(None, feed)
        return SimpleNamespace(last_hidden_state=torch.from_numpy(hidden).to(input_ids.device))


class OnnxSpans:
    """The spans graph in the student's place on the text path: a batch and label vectors -> logits."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.session = _session(path, threads)
        self.inputs = [i.name for i in self.session.get_inputs()]  # the exporter drops inputs a graph never reads

    def __call__(self, batch: TextBatch, label_vectors: torch.Tensor) -> torch.Tensor:
        given = {"label_vectors": label_vectors.float()}
        feed = {name: (given.get(name, getattr(batch, name, None))).cpu().numpy() for name in self.inputs}
        (logits,) = self.session.run(None, feed)
        return torch.from_numpy(logits).to(batch.input_ids.device)


def onnx_runtime(checkpoint: Path, backend: Backend, weights: Path, config) -> tuple[OnnxEncoder, OnnxSpans | None]:
    """The checkpoint's exported graphs for ``backend``: the encoder, and the spans graph where the export has
    one (not before format version 2, nor for a KG-augmented model); a one-line error when missing or stale."""
    folder, manifest = checkpoint / ONNX_DIR, checked_manifest(checkpoint, backend, weights)
    spans = manifest.get("spans", {})
    encoder = OnnxEncoder(folder / manifest["files"][backend], config)
    return encoder, OnnxSpans(folder / spans[backend]) if backend in spans else None


def export_file(checkpoint: Path, backend: Backend, weights: Path) -> Path:
    """The ONNX encoder file of ``backend`` in ``checkpoint``, checked (:func:`checked_manifest`)."""
    return checkpoint / ONNX_DIR / checked_manifest(checkpoint, backend, weights)["files"][backend]


def checked_manifest(checkpoint: Path, backend: Backend, weights: Path) -> dict:
    """The export manifest of ``checkpoint``, read once and checked: ``backend`` exported, from these weights,
    every file it lists for ``backend`` present."""
    check_backend(backend)
    folder = checkpoint / ONNX_DIR
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if backend not in manifest.get("files", {}):
        raise KognerError(f"{checkpoint}: no {backend} export; run `kogner export onnx {checkpoint}` first")
    if manifest.get("weights_checksum") != weights_checksum(weights):
        raise KognerError(f"{folder}: exported from other weights than {weights.name}; export again")
    missing = [name for name in (manifest["files"][backend], manifest.get("spans", {}).get(backend)) if name
               and not (folder / name).is_file()]  # fmt: skip
    if missing:
        raise KognerError(f"{folder / missing[0]}: listed in the manifest but missing; export again")
    return manifest
