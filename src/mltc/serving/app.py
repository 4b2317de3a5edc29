"""The HTTP API (FastAPI): ``POST /v1/predict``, ``GET /v1/labels``, ``GET /v1/model``, ``GET /healthz``.

Every request is bounded (number of texts, characters per text, body bytes) and validated;
bad input gets a 4xx with a message naming the problem, never a 500. Predictions go through
:meth:`mltc.classifier.Classifier.decide`, the same path as the CLI and the Python API.
"""

from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import __version__
from .batcher import MicroBatcher

DEFAULT_LIMITS = {"max_texts": 256, "max_text_chars": 100_000, "max_body_bytes": 8 * 1024 * 1024}


class BodySizeLimit:
    """ASGI middleware: reject bodies larger than ``max_bytes`` with 413 (with or without Content-Length)."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        too_big = JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"}, status_code=413)
        if length is not None:
            try:
                if int(length) > self.max_bytes:
                    return await too_big(scope, receive, send)
            except ValueError:
                return await JSONResponse({"detail": "invalid Content-Length"}, status_code=400)(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await too_big(scope, receive, send)


class _TooLarge(Exception):
    pass


class Prediction(BaseModel):
    labels: list[str] = Field(description="Predicted labels, best first.")
    scores: dict[str, float] | None = Field(None, description="Scores of the predicted (or all) labels.")


class PredictResponse(BaseModel):
    model: str
    predictions: list[Prediction]


def create_app(clf, max_texts: int = DEFAULT_LIMITS["max_texts"], max_text_chars: int = DEFAULT_LIMITS["max_text_chars"],
               max_body_bytes: int = DEFAULT_LIMITS["max_body_bytes"], batch_window_ms: float = 2.0,
               max_batch: int = 256) -> FastAPI:
    """Build the app around a loaded :class:`~mltc.classifier.Classifier`.

    The OpenAPI schema depends on the limits only, not on the model (``clf=None`` gives
    the schema: :func:`openapi_schema`).
    """

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"texts": ["OPEC agrees to cut output"], "top_k": 3}]})
        texts: list[str] = Field(min_length=1, max_length=max_texts,
                                 description=f"1 to {max_texts} texts, each at most {max_text_chars} characters.")
        threshold: float | None = Field(None, allow_inf_nan=False, description=(
            "Override the fitted decision: a fixed threshold on the scores (within [0, 1] for probability scores)."))
        top_k: int | None = Field(None, ge=1, description="Override the fitted decision: the k best labels (at most the number of labels).")
        return_scores: Literal["predicted", "all", "none"] = "predicted"

        @field_validator("texts")
        @classmethod
        def _bounded(cls, texts: list[str]) -> list[str]:
            for i, t in enumerate(texts):
                if len(t) > max_text_chars:
                    raise ValueError(f"text {i} has {len(t)} characters; the limit is {max_text_chars}")
            return texts

    batcher = MicroBatcher(clf.scores if clf is not None else None, batch_window_ms, max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        batcher.close()

    app = FastAPI(title="mltc", version=__version__, lifespan=lifespan,
                  description="Multi-label text classification for long-tailed labels: predictions of one saved model.")
    app.state.batcher = batcher
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)

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

    @app.get("/v1/labels", summary="The label set with training frequencies")
    async def labels() -> dict[str, Any]:
        space = clf.label_space
        return {"labels": space.labels, "train_frequency": dict(zip(space.labels, space.class_freq_.tolist()))}

    @app.get("/v1/model", summary="Config, decision and metrics of the loaded model")
    async def model() -> dict[str, Any]:
        metrics = {k: v for k, v in clf.metrics.items() if k != "history"}
        return {"model": clf.model_name, "activation": clf.activation, "num_labels": clf.label_space.num_labels,
                "config": clf.config, "decision": clf.decision.to_dict(), "metrics": metrics}

    @app.post("/v1/predict", response_model=PredictResponse, summary="Predict labels for one or many texts",
              responses={413: {"description": "Body too large"}, 422: {"description": "Invalid request"}})
    async def predict(req: PredictRequest) -> PredictResponse:
        num_labels = clf.label_space.num_labels
        if req.threshold is not None and req.top_k is not None:
            return JSONResponse({"detail": "give threshold or top_k, not both"}, status_code=422)
        if req.threshold is not None and clf.activation == "sigmoid" and not 0.0 <= req.threshold <= 1.0:
            return JSONResponse({"detail": "threshold must lie in [0, 1]: this model's scores are probabilities"},
                                status_code=422)
        if req.top_k is not None and req.top_k > num_labels:
            return JSONResponse({"detail": f"top_k must be at most {num_labels}, the number of labels"}, status_code=422)
        scores = await batcher.submit(req.texts)
        out = clf.format_predictions(scores, clf.decide(scores, req.threshold, req.top_k), req.return_scores)
        return PredictResponse(model=clf.model_name, predictions=out)

    return app


def openapi_schema(**limits: Any) -> dict[str, Any]:
    """The API's OpenAPI schema for the given limits (committed as docs/openapi.json)."""
    return create_app(None, **limits).openapi()


def serve(model_dir: str, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info", **limits: Any) -> None:
    """Load a model folder and serve it with uvicorn (loopback by default)."""
    import uvicorn

    from ..classifier import load

    app = create_app(load(model_dir), **limits)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
