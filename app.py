"""The ASGI app (``app``) and the AWS Lambda handler (``handler``).

Run it with ``python app.py`` (serves on $PORT, default 3000), ``oneapi serve`` or any
ASGI server (``uvicorn app:app``).
"""

from __future__ import annotations

import sys

from oneapi.cli import serve
from oneapi.config import ConfigError
from oneapi.server import create_app

try:
    app = create_app()
except ConfigError as exc:
    print(f"one-api: {exc}", file=sys.stderr)
    raise SystemExit(1) from None

if __name__ == "__main__":
    sys.exit(serve(app))
