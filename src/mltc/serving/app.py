"""The HTTP API (FastAPI): ``POST /v1/predict``, ``GET /v1/labels``, ``GET /v1/model``, ``GET /healthz``.

Every request is bounded (number of texts, characters per text, body bytes) and validated;
bad input gets a 4xx with a message naming the problem, never a 500. Predictions go through
:meth:`mltc.classifier.Classifier.decide`, the same path as the CLI and the Python API; what
they hold is the model's task's (labels and scores, or the level of every aspect with its
probabilities for a fine-grained model, which refuses threshold and top_k with a 422).

No request holds the server forever: the body is read (and counted) by :class:`BodyLimits`
before any parsing, with a timeout per read and a total deadline (408), and the byte limit
is enforced while streaming, chunked or not (413); :func:`serve` also bounds the time to
receive request headers, their size, and the number of connections.
"""

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import __version__
from .batcher import MicroBatcher

DEFAULT_LIMITS = {"max_texts": 256, "max_text_chars": 100_000, "max_body_bytes": 8 * 1024 * 1024}
DEFAULT_TIMEOUTS = {"read_timeout_s": 10.0, "body_timeout_s": 30.0}
CLOSE = {"connection": "close"}  # the client may still be sending: do not reuse the connection


class BodyLimits:
    """ASGI middleware: read a request's whole body before the app sees it, within bounds.

    * more than ``max_bytes`` (by Content-Length, or counted while a chunked body streams):
      413, without reading the rest;
    * no new piece of the body within ``read_timeout_s``, or not all of it within
      ``body_timeout_s``: 408 (a Content-Length larger than what is sent cannot hold the
      connection);
    * an invalid Content-Length: 400.

    Error responses close the connection. The app then receives the body in one message.
    """

    def __init__(self, app, max_bytes: int, read_timeout_s: float = DEFAULT_TIMEOUTS["read_timeout_s"],
                 body_timeout_s: float = DEFAULT_TIMEOUTS["body_timeout_s"]) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.read_timeout_s, self.body_timeout_s = read_timeout_s, body_timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if n < 0:
                return await self._error(400, "invalid Content-Length", scope, receive, send)
            if n > self.max_bytes:
                return await self._error(413, f"request body larger than {self.max_bytes} bytes", scope, receive, send)
        body = await self._read_body(receive)
        if isinstance(body, tuple):
            return await self._error(*body, scope, receive, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, receive) -> bytes | tuple[int, str]:
        """The whole body, or ``(status, message)`` when it is too large, too slow or the client left."""
        parts, seen = [], 0
        deadline = time.monotonic() + self.body_timeout_s
        while True:
            wait = min(self.read_timeout_s, deadline - time.monotonic())
            try:
                if wait <= 0:
                    raise asyncio.TimeoutError
                message = await asyncio.wait_for(receive(), timeout=wait)
            except asyncio.TimeoutError:
                return 408, (f"request body not received in time (at most {self.read_timeout_s:g} s between reads, "
                             f"{self.body_timeout_s:g} s in all)")
            if message["type"] == "http.disconnect":
                return 400, "client disconnected before sending the whole body"
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                return 413, f"request body larger than {self.max_bytes} bytes"
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    @staticmethod
    async def _error(status: int, detail: str, scope, receive, send) -> None:
        await JSONResponse({"detail": detail}, status_code=status, headers=CLOSE)(scope, receive, send)


BodySizeLimit = BodyLimits  # the former name


class Prediction(BaseModel):
    """A multi-label model's prediction for one text."""

    labels: list[str] = Field(description="Predicted labels, best first.")
    scores: dict[str, float] | None = Field(None, description="Scores of the predicted (or all) labels.")


class AspectLevel(BaseModel):
    level: int = Field(description="The most probable level (0 .. L-1).")
    level_name: str = Field(description="Its name.")
    probabilities: list[float] | None = Field(None, description="The probability of every level, 0 .. L-1 "
                                                                "(left out with return_scores 'none').")


class GradedPrediction(BaseModel):
    """A fine-grained model's prediction for one text: the level of every aspect."""

    aspects: dict[str, AspectLevel]


class PredictResponse(BaseModel):
    model: str
    predictions: list[Prediction | GradedPrediction] = Field(
        description="One per text: labels (multi-label model) or the level of every aspect (fine-grained model).")


def create_app(clf, max_texts: int = DEFAULT_LIMITS["max_texts"], max_text_chars: int = DEFAULT_LIMITS["max_text_chars"],
               max_body_bytes: int = DEFAULT_LIMITS["max_body_bytes"], batch_window_ms: float = 2.0,
               max_batch: int = 256, read_timeout_s: float = DEFAULT_TIMEOUTS["read_timeout_s"],
               body_timeout_s: float = DEFAULT_TIMEOUTS["body_timeout_s"]) -> FastAPI:
    """Build the app around a loaded :class:`~mltc.classifier.Classifier`.

    The OpenAPI schema depends on the limits only, not on the model (``clf=None`` gives
    the schema: :func:`openapi_schema`). ``read_timeout_s`` bounds the wait for each piece
    of a request body, ``body_timeout_s`` the whole body (408 past either).
    """

    class PredictRequest(BaseModel):
        # strict: `"threshold": true` or `"top_k": "3"` are refused, not coerced
        model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
            "examples": [{"texts": ["OPEC agrees to cut output"], "top_k": 3}],
            "description": "Give at most one of threshold and top_k (both: 422); a fine-grained model takes "
                           "neither (422).",
            "not": {"required": ["threshold", "top_k"],
                    "properties": {"threshold": {"type": "number"}, "top_k": {"type": "integer"}}}})
        texts: list[str] = Field(min_length=1, max_length=max_texts,
                                 description=f"1 to {max_texts} texts, each at most {max_text_chars} characters.")
        threshold: float | None = Field(None, allow_inf_nan=False, description=(
            "Override the fitted decision: a fixed threshold on the scores (within [0, 1] for probability scores). "
            "Not together with top_k."))
        top_k: int | None = Field(None, ge=1, description=(
            "Override the fitted decision: the k best labels (at most the number of labels). Not together with threshold."))
        return_scores: Literal["predicted", "all", "none"] = "predicted"

        @model_validator(mode="after")
        def _one_override(self):
            if self.threshold is not None and self.top_k is not None:
                raise ValueError("give threshold or top_k, not both")
            return self

        @field_validator("texts")
        @classmethod
        def _bounded(cls, texts: list[str]) -> list[str]:
            for i, t in enumerate(texts):
                if len(t) > max_text_chars:
                    raise ValueError(f"text {i} has {len(t)} characters; the limit is {max_text_chars}")
            return texts

    batcher = MicroBatcher(clf.scores if clf is not None else None, batch_window_ms, max_batch)  # type: ignore[arg-type]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        batcher.close()

    app = FastAPI(title="mltc", version=__version__, lifespan=lifespan,
                  description="Multi-label text classification for long-tailed labels: predictions of one saved model.")
    app.state.batcher = batcher
    app.add_middleware(BodyLimits, max_bytes=max_body_bytes, read_timeout_s=read_timeout_s,
                       body_timeout_s=body_timeout_s)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # pragma: no cover - a bug, reported as such
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/labels", summary="The label set with training frequencies (fine-grained: aspects and levels)")
    async def labels() -> dict[str, Any]:
        return clf.task.outputs()

    @app.get("/v1/model", summary="Task, config, decision and metrics of the loaded model")
    async def model() -> dict[str, Any]:
        metrics = {k: v for k, v in clf.metrics.items() if k != "history"}
        return {"model": clf.model_name, **clf.task.describe(), "config": clf.config, "metrics": metrics}

    @app.post("/v1/predict", response_model=PredictResponse, summary="Predict labels for one or many texts",
              responses={408: {"description": "Body not received in time"}, 413: {"description": "Body too large"},
                         422: {"description": "Invalid request (also: threshold and top_k together, a threshold "
                                              "outside the scores' range, top_k above the number of labels, "
                                              "threshold or top_k for a fine-grained model)"}})
    async def predict(req: PredictRequest) -> PredictResponse | JSONResponse:
        problem = clf.task.override_problem(req.threshold, req.top_k)
        if problem:
            return JSONResponse({"detail": problem}, status_code=422)
        scores = await batcher.submit(req.texts)
        out = clf.format_predictions(scores, clf.decide(scores, req.threshold, req.top_k), req.return_scores)
        return PredictResponse(model=clf.model_name, predictions=out)

    return app


def openapi_schema(**limits: Any) -> dict[str, Any]:
    """The API's OpenAPI schema for the given limits (committed as docs/openapi.json)."""
    return create_app(None, **limits).openapi()


def header_timeout_protocol(base: type, timeout_s: float) -> type:
    """A uvicorn HTTP protocol class that closes a connection whose request headers do not
    arrive within ``timeout_s`` (uvicorn itself only times out idle keep-alive connections)."""

    class HeaderTimeout(base):
        _header_timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and self._awaiting_headers():
                self._arm_header_timer()
            super().data_received(data)

        def connection_lost(self, exc) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            super().connection_lost(exc)

        def _awaiting_headers(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm_header_timer(self) -> None:
            self._header_timer = self.loop.call_later(timeout_s, self._header_timeout, self.cycle)

        def _header_timeout(self, cycle) -> None:
            self._header_timer = None
            if self.transport.is_closing() or not self._awaiting_headers():
                return
            if self.cycle is cycle:  # no request started since the timer was armed
                self.transport.close()
            else:  # a request finished meanwhile; the next one gets its own full wait
                self._arm_header_timer()

    HeaderTimeout.__name__ = HeaderTimeout.__qualname__ = f"HeaderTimeout{base.__name__}"
    return HeaderTimeout


def server_config(app, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
                  read_timeout_s: float = DEFAULT_TIMEOUTS["read_timeout_s"], max_connections: int = 1000):
    """The uvicorn configuration :func:`serve` uses: bounded header time and size, bounded connections.

    Request headers must arrive within ``read_timeout_s`` and hold at most 64 KiB; past
    ``max_connections`` open connections new requests get 503; idle keep-alive
    connections close after 5 s.
    """
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_keep_alive=5,
                          limit_concurrency=max_connections, h11_max_incomplete_event_size=64 * 1024,
                          http=header_timeout_protocol(AutoHTTPProtocol, read_timeout_s))


def serve(model_dir: str, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
          max_connections: int = 1000, **limits: Any) -> None:
    """Load a model folder and serve it with uvicorn (loopback by default)."""
    import uvicorn

    from ..classifier import load

    app = create_app(load(model_dir), **limits)
    read_timeout_s = limits.get("read_timeout_s", DEFAULT_TIMEOUTS["read_timeout_s"])
    uvicorn.Server(server_config(app, host, port, log_level, read_timeout_s, max_connections)).run()
