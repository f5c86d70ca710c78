"""Property-based fuzzing of every ``/api`` route from the app's own OpenAPI description.

Schemathesis turns ``/schema/openapi.json`` into Hypothesis strategies: requests that fit
the description (positive) and requests that do not (negative). Each is sent as root
through the real app, and three properties must hold for every answer:

* no HTTP 5xx and no "internal error" envelope (an unexpected exception is a bug);
* every ``/api`` answer is one-api's envelope (``success`` and ``message``);
* a refused request (``success: false``) leaves every table exactly as it was (a failed
  channel test is not a refusal: it reports, and stores, the test's result).

The run is bounded (``EXAMPLES`` per route, no shrinking, derandomized so CI is
repeatable): about a minute per database. ``FUZZ_EXAMPLES=150 FUZZ_RANDOM=1`` makes a
longer, random run by hand. Vendor calls (channel tests, balances, model lists) meet an
upstream client that refuses every connection, so nothing leaves the box.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode
from sqlalchemy import select, text
from sqlmodel import Session, SQLModel

from oneapi.db.models import Channel, Redemption, Token, User
from oneapi.errors import UpstreamConnectError
from oneapi.relay.upstream import MemoryTransport, UpstreamRequest
from tests.api.conftest import Api
from tests.support.db import get_engine

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per route and database: ~2,600 requests each
RANDOM = bool(os.environ.get("FUZZ_RANDOM"))


def _refuse(request: UpstreamRequest) -> Any:
    """An upstream that refuses every connection."""
    raise UpstreamConnectError("cannot reach the upstream: refused by the fuzz test")


def _fingerprint() -> str:
    """A digest of every row of every table (the state a refused request must not change)."""
    digest = hashlib.sha256()
    with Session(get_engine()) as session:
        for table in SQLModel.metadata.sorted_tables:
            rows = session.execute(select(table)).all()
            for line in sorted(json.dumps(list(r), default=str) for r in rows):
                digest.update(line.encode())
            digest.update(table.name.encode())
    return digest.hexdigest()


def _root_token() -> str:
    """Root's current access token (``GET /api/user/token`` replaces it)."""
    with Session(get_engine()) as session:
        return str(session.execute(text("SELECT access_token FROM users WHERE id = 1")).scalar_one())


def _seed(api: Api) -> None:
    """A few rows so fuzzed ids 1..3 often meet something."""
    with Session(get_engine()) as session:
        session.add(Channel(type=1, key="sk-seed", name="seed", base_url="http://127.0.0.1:9",
                            models="gpt-4o-mini", group="default", status=1))
        session.add(Token(user_id=1, key="k" * 48, name="seed", status=1, expired_time=-1,
                          unlimited_quota=True))
        session.add(Redemption(user_id=1, key="r" * 32, name="seed", quota=10, status=1))
        session.commit()
    api.runtime.services.upstream = MemoryTransport(_refuse)


def _strategy(operation: Any) -> st.SearchStrategy[Any]:
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # an operation with nothing to make invalid
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def _settle(api: Api) -> None:
    """Wait for a background "test every channel" run, which writes test results."""
    task = api.management.channel_tests.running
    deadline = time.monotonic() + 10
    while task is not None and not task.done() and time.monotonic() < deadline:
        time.sleep(0.01)


def _problem(api: Api, case: Any) -> str | None:
    """Send one case as root; the property it broke, or None."""
    _settle(api)
    request = case.as_transport_kwargs(base_url="http://testserver")
    headers = {"Authorization": f"Bearer {_root_token()}"}
    if "Content-Type" in request["headers"]:
        headers["Content-Type"] = request["headers"]["Content-Type"]
    before = _fingerprint()
    api.client.cookies.clear()
    sent = {key: request[key] for key in ("params", "json") if key in request}
    if request.get("data") is not None:  # a raw body: httpx takes it as content
        raw = request["data"]
        sent["content" if isinstance(raw, bytes | str) else "data"] = raw
    response = api.client.request(request["method"], request["url"], headers=headers, **sent)
    label = f"{request['method']} {request['url']} {sent}"
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {label} -> {response.text[:300]}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {label} -> {response.text[:300]}"
    if not isinstance(body, dict) or "success" not in body or "message" not in body:
        if "/api/" in request["url"]:
            return f"not one-api's envelope: {label} -> {response.text[:300]}"
        return None
    if "internal error" in str(body.get("message", "")):
        return f"internal error: {label} -> {body['message']}"
    refused = body["success"] is False and "time" not in body  # a failed channel test is a result
    if refused and _fingerprint() != before:
        return f"refused but the database changed: {label} -> {body['message']}"
    return None


def _fuzz(api: Api) -> tuple[int, list[str]]:
    api.client.cookies.clear()
    document = api.client.get("/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    sent = 0
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/api"):
            sent += _fuzz_operation(api, operation, problems)
    return sent, problems


def _fuzz_operation(api: Api, operation: Any, problems: list[str]) -> int:
    """Fuzz one route, adding what broke to ``problems``; the number of requests sent."""
    label = f"{operation.method.upper()} {operation.path}"
    sent = 0

    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
              derandomize=not RANDOM, database=None, suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation))
    def check(case: Any) -> None:
        nonlocal sent
        sent += 1
        problem = _problem(api, case)
        if problem is not None:
            problems.append(f"{label}: {problem}")

    check()
    return sent


def test_every_api_route_survives_fuzzing(api_sp: Api) -> None:
    _seed(api_sp)
    sent, problems = _fuzz(api_sp)
    routes = Counter(problem.split(":")[0] for problem in problems)
    print(f"fuzz: {sent} requests, {len(problems)} problems on {len(routes)} routes")
    for route, count in routes.most_common():
        print(f"  {count:4d}  {route}")
    assert sent >= 63 * 10, sent
    assert not problems, "\n".join(problems[:40])
    with Session(get_engine()) as session:  # root is still there and still root
        root = session.get(User, 1)
        assert root is not None and root.role == 100
