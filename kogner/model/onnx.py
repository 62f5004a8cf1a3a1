"""ONNX Runtime for the text encoder: export (``kogner export onnx``), int8 dynamic quantisation, and a
drop-in encoder module for ``KoGNER.from_pretrained(path, backend="onnx" | "onnx-int8")``.

The encoder is where the time goes; the span and label heads stay in PyTorch and label vectors stay cached,
so every backend shares one prediction path and one decoder. The export goes through ``torch.export``
with eager attention (the SDPA graph runs slower in ONNX Runtime), then ONNX Runtime's transformer optimizer
fuses LayerNorm, residual and GELU nodes where it knows the architecture (BERT-style encoders), and the fused
graph is quantised, one scale per output channel. ``onnx/manifest.json`` records a checksum of the weights
it was exported from, so a stale export is refused instead of giving another model's scores.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import torch

from kogner.errors import KognerError
from kogner.model.backends import Backend, check_backend

ONNX_DIR = "onnx"
FILES = {"onnx": "encoder.onnx", "onnx-int8": "encoder.int8.onnx"}


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


def export_encoder(encoder: torch.nn.Module, tokenizer, folder: Path, weights: Path, quantize: bool = True) -> dict:
    """Write ``encoder.onnx`` (and ``encoder.int8.onnx``) with dynamic batch and length axes, and the manifest.
    ``encoder`` is left as it was given (mode and attention implementation)."""
    _runtime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["Germline BRCA1 mutations cause breast cancer .", "a b"], padding=True, return_tensors="pt")
    batch, length = torch.export.Dim("batch", min=1, max=65536), torch.export.Dim("length", min=2, max=4096)
    dynamic = {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}}
    training, attention = encoder.training, getattr(encoder.config, "_attn_implementation", None)
    try:
        encoder.eval()
        if attention not in (None, "eager"):
            encoder.set_attn_implementation("eager")
        with torch.no_grad():
            torch.onnx.export(
                _Hidden(encoder), (sample["input_ids"], sample["attention_mask"]), str(folder / FILES["onnx"]),
                input_names=["input_ids", "attention_mask"], output_names=["hidden"], dynamic_shapes=dynamic,
                opset_version=18, dynamo=True, verbose=False,
            )  # fmt: skip
    finally:
        encoder.train(training)
        if attention not in (None, "eager"):
            encoder.set_attn_implementation(attention)
    fused = _fuse(folder / FILES["onnx"], encoder.config)
    files = {"onnx": FILES["onnx"]}
    if quantize:
        import onnx

        quantize_dynamic(  # per output channel: per tensor cost up to 5.8 F1 points (benchmarks/onnx_cpu.py)
            folder / FILES["onnx"], folder / FILES["onnx-int8"], weight_type=QuantType.QInt8, per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # the fused nodes' outputs have no type
        )  # fmt: skip
        files["onnx-int8"] = FILES["onnx-int8"]
    manifest = {"format_version": 1, "weights_checksum": weights_checksum(weights), "files": files, "opset": 18,
                "fused": fused}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


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


class OnnxEncoder(torch.nn.Module):
    """An ONNX Runtime session in the encoder's place: same call, same ``last_hidden_state``, no torch weights."""

    def __init__(self, path: Path, config, threads: int | None = None) -> None:
        super().__init__()
        runtime = _runtime()
        options = runtime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        # no busy-waiting after a run: the heads run in torch's thread pool right after, on the same cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # every batch has its own shape: an arena or a memory pattern keeps the largest batch's buffers (peak
        # RSS above torch's, measured) and runs no faster
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        self.session = runtime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.config = config  # the transformers config: hidden size for the heads

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        feed = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        (hidden,) = self.session.run(None, feed)
        return SimpleNamespace(last_hidden_state=torch.from_numpy(hidden).to(input_ids.device))


def onnx_encoder(checkpoint: Path, backend: Backend, weights: Path, config) -> OnnxEncoder:
    """The checkpoint's exported encoder for ``backend``; a one-line error when missing or stale."""
    return OnnxEncoder(export_file(checkpoint, backend, weights), config)


def export_file(checkpoint: Path, backend: Backend, weights: Path) -> Path:
    """The ONNX file of ``backend`` in ``checkpoint``, checked: present, exported from these weights."""
    check_backend(backend)
    folder = checkpoint / ONNX_DIR
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file() or backend not in json.loads(manifest_path.read_text()).get("files", {}):
        raise KognerError(f"{checkpoint}: no {backend} export; run `kogner export onnx {checkpoint}` first")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("weights_checksum") != weights_checksum(weights):
        raise KognerError(f"{folder}: exported from other weights than {weights.name}; export again")
    return folder / manifest["files"][backend]
