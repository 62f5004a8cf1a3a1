"""The REST API: ``POST /v1/annotate``, ``GET /health``, ``GET /ready``, ``GET /v1/stats`` (FastAPI).

The model loads in a background thread after the server starts, so ``/health`` answers at once and
``/ready`` turns true only when requests can be served. Limits answer with JSON errors: an oversized body or
text 413, too many texts or labels and bad thresholds 422, a missing or wrong bearer token 401 (required
whenever the server listens beyond loopback).
"""

from __future__ import annotations

import asyncio
import hmac
import math
import os
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from kogner.data.records import Mention
from kogner.errors import KognerError
from kogner.model.api import KoGNER
from kogner.model.options import DEFAULTS, PredictOptions
from kogner.serve.batcher import MicroBatcher
from kogner.serve.config import ServeConfig

TOKEN_ENV = "KOGNER_API_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def token_for(host: str) -> str | None:
    """The bearer token a server on ``host`` requires: none on loopback, ``$KOGNER_API_TOKEN`` elsewhere."""
    token = os.environ.get(TOKEN_ENV) or None
    if host not in LOOPBACK and not token:
        raise KognerError(f"serving on {host} needs a bearer token: set ${TOKEN_ENV} (or bind 127.0.0.1)")
    return token


class AnnotateRequest(BaseModel):
    """One ``text`` or a list of ``texts``, the label texts to find and how to decide (:class:`PredictOptions`:
    same names, same defaults)."""

    text: str | None = None
    texts: list[str] | None = None
    labels: list[str] | dict[str, str] = Field(min_length=1, examples=[["disease", "chemical"]])
    threshold: float | dict[str, float] = DEFAULTS.threshold
    flat: bool = DEFAULTS.flat
    multi_label: bool = DEFAULTS.multi_label
    link_threshold: float = DEFAULTS.link_threshold
    short_forms: bool = DEFAULTS.short_forms

    @model_validator(mode="after")
    def _one_input(self) -> AnnotateRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' and 'texts'")
        return self

    def options(self, batch_size: int) -> PredictOptions:
        """The request's prediction options (a :class:`KognerError` names what is wrong)."""
        return PredictOptions(self.labels, self.threshold, flat=self.flat, multi_label=self.multi_label,
                              batch_size=batch_size, link_threshold=self.link_threshold,
                              short_forms=self.short_forms)  # fmt: skip


class Result(BaseModel):
    entities: list[Mention]


class AnnotateResponse(BaseModel):
    results: list[Result]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def _json_safe(value):
    """Validation errors echo the input, and JSON has no NaN or Infinity (which Python clients send): such
    numbers go back as their text, so a bad number is a 422, not a 500 from the response encoder."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _over_limits(texts: list[str], body: AnnotateRequest, config: ServeConfig) -> JSONResponse | None:
    """The error answer of a request over the server's limits, or None."""
    if len(texts) > config.max_texts:
        return _error(422, f"at most {config.max_texts} texts per request")
    if len(body.labels) > config.max_labels:
        return _error(422, f"at most {config.max_labels} labels per request")
    if any(len(t) > config.max_text_chars for t in texts):
        return _error(413, f"a text is over {config.max_text_chars} characters")
    return None


def _lifespan(loader: Callable[[], KoGNER], config: ServeConfig, state: dict):
    """Load the model in a background thread (the server answers /health and /ready meanwhile), start the
    micro-batcher when it is ready, and drain the batcher's queue at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()

        def load() -> None:
            try:
                model = loader()
                model.encode_labels(["disease"])  # warm the encoder once
            except Exception as exc:  # reported by /ready; the server stays up to say so
                state["error"] = f"{type(exc).__name__}: {exc}"
                return
            loop.call_soon_threadsafe(_ready, model)

        def _ready(model: KoGNER) -> None:
            batcher = MicroBatcher(model, config.round_words, config.max_wait_ms)
            batcher.start()
            state["batcher"] = batcher

        threading.Thread(target=load, name="kogner-load", daemon=True).start()
        yield
        if state["batcher"] is not None:  # uvicorn has let in-flight requests finish; drain the queue
            await state["batcher"].stop()

    return lifespan


def _limits_and_auth(config: ServeConfig):
    """The HTTP middleware: bearer token on /v1/, and the body size limit before the body is parsed."""

    async def middleware(request: Request, call_next):
        if config.token is not None and request.url.path.startswith("/v1/"):
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {config.token}".encode()):
                return _error(401, "missing or wrong bearer token")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > config.max_body_bytes:
            return _error(413, f"body over {config.max_body_bytes} bytes")
        if request.method == "POST" and length is None and len(await request.body()) > config.max_body_bytes:
            return _error(413, f"body over {config.max_body_bytes} bytes")
        return await call_next(request)

    return middleware


def create_app(loader: Callable[[], KoGNER], config: ServeConfig | None = None) -> FastAPI:
    """The API around the model that ``loader`` returns (called once, in a background thread)."""
    config = config or ServeConfig()
    state: dict = {"batcher": None, "error": None}
    lifespan = _lifespan(loader, config, state)
    app = FastAPI(title="kogner", summary="Biomedical NER with KG ids", version="1", lifespan=lifespan)

    app.middleware("http")(_limits_and_auth(config))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        if state["batcher"] is None:
            return JSONResponse({"ready": False, "error": state["error"]}, status_code=503)
        return JSONResponse({"ready": True})

    @app.get("/v1/stats")
    async def stats() -> dict:
        batcher = state["batcher"]
        return batcher.stats.to_dict() if batcher else {}

    @app.post(
        "/v1/annotate",
        response_model=AnnotateResponse,
        response_model_exclude_none=True,  # as Mention.to_dict(): no null KG ids
        responses={413: {}, 422: {}, 401: {}, 503: {}},
    )
    async def annotate(body: AnnotateRequest) -> AnnotateResponse | JSONResponse:
        batcher = state["batcher"]
        if batcher is None:
            return _error(503, "model not loaded yet; poll /ready")
        texts = [body.text] if body.text is not None else body.texts
        if (refused := _over_limits(texts, body, config)) is not None:
            return refused
        try:
            found = await batcher.submit(texts, body.options(config.batch_size))
        except (ValueError, KognerError) as exc:  # this request's input (the others of its batch are served)
            return _error(422, " ".join(str(exc).split()))
        return {"results": [{"entities": [m.to_dict() for m in mentions]} for mentions in found]}

    return app
