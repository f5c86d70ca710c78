"""The ASGI app (``app``) and the AWS Lambda handler (``handler``).

Run it with ``python app.py`` (serves on $PORT, default 3000), ``oneapi serve`` or any
ASGI server (``uvicorn app:app``). On AWS Lambda set the function's handler to
``app.handler`` (see deploy/lambda/).
"""

from __future__ import annotations

import sys

from oneapi.loading import collector_paused

with collector_paused():  # see oneapi.loading: 45-65 ms of a restart's CPU
    from oneapi.cli import serve
    from oneapi.config import ConfigError
    from oneapi.server import create_app
    from oneapi.serverless import LambdaHandler

    try:
        app = create_app()
        handler = LambdaHandler(app)
    except ConfigError as exc:
        print(f"one-api: {exc}", file=sys.stderr)
        raise SystemExit(1) from None

if __name__ == "__main__":
    sys.exit(serve(app))
