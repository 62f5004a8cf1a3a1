"""``kogner serve``: the REST API under uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kogner.cli.common import BackendOption, ModelOption
from kogner.errors import KognerError
from kogner.serve.config import SERVE_DEFAULTS, ServeConfig


def serve(
    model: ModelOption,
    host: Annotated[str, typer.Option(help="Bind address; beyond loopback $KOGNER_API_TOKEN is needed.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    kg: Annotated[Path | None, typer.Option(help="A built KG with its teacher: entities get KG ids.")] = None,
    round_words: Annotated[
        int, typer.Option(min=1, help="Words per model round over all requests (bounds any request's wait).")
    ] = SERVE_DEFAULTS.round_words,
    max_wait_ms: Annotated[
        float, typer.Option(min=0.0, help="How long a request waits for company.")
    ] = SERVE_DEFAULTS.max_wait_ms,
    max_texts: Annotated[int, typer.Option(min=1, help="Texts per request.")] = SERVE_DEFAULTS.max_texts,
    max_text_chars: Annotated[int, typer.Option(min=1, help="Characters per text.")] = SERVE_DEFAULTS.max_text_chars,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda when available).")] = None,
    backend: BackendOption = "torch",
) -> None:
    """Serve POST /v1/annotate (micro-batched), /health, /ready and OpenAPI docs at /docs."""
    try:
        import uvicorn

        from kogner.serve.app import create_app, token_for
    except ImportError as exc:
        raise KognerError(f"serving needs the [serve] extra: pip install 'kogner[serve]' ({exc})") from None
    from kogner.model.api import KoGNER
    from kogner.model.backends import ONNX_BACKENDS, check_backend
    from kogner.model.checkpoints import WEIGHTS, resolve_checkpoint
    from kogner.model.onnx import export_file

    check_backend(backend)
    if backend in ONNX_BACKENDS:  # before the server starts: the model loads in the background
        path = resolve_checkpoint(model)
        export_file(path, backend, path / WEIGHTS)

    config = ServeConfig(max_texts=max_texts, max_text_chars=max_text_chars, round_words=round_words,
                         max_wait_ms=max_wait_ms, token=token_for(host))  # fmt: skip
    app = create_app(lambda: KoGNER.from_pretrained(model, device=device, kg=kg, backend=backend), config)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=30)
