"""``mltc serve`` and ``mltc openapi``."""
from __future__ import annotations

import json

import click


@click.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback unless told otherwise).")
@click.option("--port", default=8000, show_default=True)
@click.option("--max-texts", default=256, show_default=True, help="Most texts in one request.")
@click.option("--max-text-chars", default=100_000, show_default=True, help="Most characters in one text.")
@click.option("--max-body-bytes", default=8 * 1024 * 1024, show_default=True, help="Largest request body.")
@click.option("--batch-window-ms", default=2.0, show_default=True, help="Server-side batching window (0: off).")
@click.option("--read-timeout", "read_timeout_s", default=10.0, show_default=True,
              help="Most seconds to wait for request headers or for the next piece of a body (then 408 / close).")
@click.option("--body-timeout", "body_timeout_s", default=30.0, show_default=True,
              help="Most seconds to receive a whole request body (then 408).")
@click.option("--max-connections", default=1000, show_default=True, help="Open connections before new requests get 503.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              help="uvicorn log level (info logs every request).")
def serve(model_dir, host, port, **limits):
    """Serve a saved model over HTTP (FastAPI + uvicorn): POST /v1/predict, GET /v1/labels, /v1/model, /healthz."""
    from ..options import check_port, check_serve_limits
    check_port(port)
    check_serve_limits(limits)
    from ..serving.app import serve as run_server
    run_server(model_dir, host=host, port=port, **limits)


@click.command()
def openapi():
    """Print the HTTP API's OpenAPI schema (default limits)."""
    from ..serving.app import openapi_schema
    click.echo(json.dumps(openapi_schema(), indent=2, sort_keys=True))
