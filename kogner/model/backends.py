"""The runtimes a trained model predicts with: one name each, one owner of the list.

- ``torch``: fp32 PyTorch, the reference.
- ``torch-bf16``: PyTorch under bfloat16 autocast (fast where the CPU has AMX or AVX-512 BF16, and on GPUs;
  slower than fp32 elsewhere); scores differ from fp32 in the second or third decimal.
- ``onnx`` / ``onnx-int8``: ONNX Runtime from the checkpoint's ``kogner export onnx``: encoder and heads in one
  graph (int8: dynamic quantisation, one weight scale per output channel).
"""

from __future__ import annotations

from typing import Literal, get_args

from kogner.errors import KognerError

Backend = Literal["torch", "torch-bf16", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = get_args(Backend)
ONNX_BACKENDS = ("onnx", "onnx-int8")


def check_backend(backend: str) -> None:
    """A one-line error for an unknown backend, or an ONNX one without its extra installed."""
    if backend not in BACKENDS:
        raise KognerError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend in ONNX_BACKENDS:
        from kogner.model.onnx import _runtime

        _runtime()
