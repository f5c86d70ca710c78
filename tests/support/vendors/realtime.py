"""OpenAI's Realtime API played on 127.0.0.1: ``GET /v1/realtime?model=`` upgraded to a WebSocket.

The upgrade needs the channel's key as a bearer token and a model. The mock greets with
``session.created``, answers ``session.update`` with ``session.updated`` and
``response.create`` with a short text response ending in ``response.done`` whose usage
mixes text and audio tokens (:data:`USAGE`); a binary frame is echoed back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.support.upstreams import UpstreamServer

__all__ = ("KEY", "USAGE", "RealtimeUpstream")

KEY = "sk-realtime-upstream"
USAGE = {
    "total_tokens": 50,
    "input_tokens": 30,
    "output_tokens": 20,
    "input_token_details": {"text_tokens": 10, "audio_tokens": 20, "cached_tokens": 0},
    "output_token_details": {"text_tokens": 5, "audio_tokens": 15},
}


@dataclass
class RealtimeUpstream(UpstreamServer):
    name: str = "realtime"
    events_in: list[dict[str, Any]] = field(default_factory=list)
    closed: int = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/v1/realtime", self.session)]

    async def session(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return web.json_response(
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
                status=401,
            )
        model = request.query.get("model")
        if not model:
            return web.json_response(
                {"error": {"message": "Missing model", "type": "invalid_request_error"}}, status=400
            )
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        session = {"id": "sess_mock", "object": "realtime.session", "model": model, "type": "realtime"}
        await socket.send_json({"type": "session.created", "event_id": "ev_0", "session": session})
        responses = 0
        async for message in socket:
            if message.type is WSMsgType.BINARY:
                await socket.send_bytes(message.data)
                continue
            if message.type is not WSMsgType.TEXT:
                break
            event = json.loads(message.data)
            self.events_in.append(event)
            if event.get("type") == "session.update":
                await socket.send_json({"type": "session.updated", "event_id": "ev_1", "session": session})
            elif event.get("type") == "response.create":
                responses += 1
                await self._respond(socket, f"resp_{responses}")
        self.closed += 1
        return socket

    @staticmethod
    async def _respond(socket: web.WebSocketResponse, response_id: str) -> None:
        response = {"id": response_id, "object": "realtime.response", "status": "in_progress", "output": []}
        await socket.send_json({"type": "response.created", "event_id": "ev_2", "response": response})
        for index, piece in enumerate(("Hello", " there.")):
            await socket.send_json(
                {
                    "type": "response.output_text.delta",
                    "event_id": f"ev_d{index}",
                    "response_id": response_id,
                    "item_id": "item_1",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": piece,
                }
            )
        done = {**response, "status": "completed", "usage": USAGE}
        await socket.send_json({"type": "response.done", "event_id": "ev_9", "response": done})
