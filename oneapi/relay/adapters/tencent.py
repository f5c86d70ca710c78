"""Tencent Hunyuan (channel type 23): Tencent Cloud's API 3.0, signed with TC3-HMAC-SHA256.

Every call is ``POST {endpoint}/`` with the action in ``X-TC-Action`` (``ChatCompletions``,
``GetEmbedding``), ``X-TC-Version: 2023-09-01`` and ``X-TC-Timestamp``; the endpoint is
``https://hunyuan.tencentcloudapi.com`` unless the channel sets a base URL. The key is
``AppId|SecretId|SecretKey`` as one-api stores it. The signature covers the method, path,
``content-type`` and ``host`` headers and the body's SHA-256 under the scope
``{date}/hunyuan/tc3_request``; the signing key chain is Tencent's own
(``tencentcloud.common.sign``, 5 ms to import, loaded with this module on first use).
Hunyuan's OpenAI-compatible endpoint takes a different kind of key (an API key): use a
type 50 channel with base URL ``https://api.hunyuan.cloud.tencent.com/v1`` for that.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.common.sign import Sign

from oneapi.cache import CachedChannel
from oneapi.errors import UpstreamError
from oneapi.relay.adapters.base import UpstreamRequest
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.events import encode_json
from oneapi.relay.formats.hunyuan import (
    HunyuanChatStream,
    chat_to_hunyuan,
    embeddings_from_hunyuan,
    embeddings_to_hunyuan,
    hunyuan_to_chat,
)
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "TencentAdapter", "tc3_authorization")

SERVICE = "hunyuan"
VERSION = "2023-09-01"
_ACTIONS = {RelayMode.CHAT: "ChatCompletions", RelayMode.EMBEDDINGS: "GetEmbedding"}


def tc3_authorization(secret_id: str, secret_key: str, host: str, body: bytes, timestamp: int) -> str:
    """The ``Authorization`` header of a TC3-HMAC-SHA256 signed ``POST /`` with a JSON body."""
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    canonical = "\n".join(["POST", "/", "", f"content-type:application/json\nhost:{host}\n",
                           "content-type;host", hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{SERVICE}/tc3_request"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, digest])
    signature = Sign.sign_tc3(secret_key, date, SERVICE, to_sign)
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, "
            f"Signature={signature}")


class TencentAdapter(VendorAdapter):
    vendor = "Tencent Hunyuan"
    modes = frozenset(_ACTIONS)

    def build_request(self, channel: CachedChannel, key: str, request: RelayRequest,
                      model: str) -> UpstreamRequest:
        parts = key.split("|")
        if len(parts) != 3 or not all(part.strip() for part in parts):
            raise UpstreamError(f"channel #{channel.id} (Tencent Hunyuan) needs its key as "
                                "AppId|SecretId|SecretKey", code="invalid_channel_key")
        _, secret_id, secret_key = (part.strip() for part in parts)
        url = self.request_url(channel, request, model)
        body = self.convert_request(channel, request, model)
        timestamp = int(time.time())
        authorization = tc3_authorization(secret_id, secret_key, urlsplit(url).netloc, body, timestamp)
        headers = {**self.request_headers(channel, key, request), "X-TC-Timestamp": str(timestamp),
                   "Authorization": authorization}
        return UpstreamRequest("POST", url, headers, body)

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.base_url(channel)}/"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "X-TC-Action": _ACTIONS[request.mode],
                   "X-TC-Version": VERSION}
        region = channel.config.get("region")
        if isinstance(region, str) and region:
            headers["X-TC-Region"] = region
        return headers

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        if request.mode is RelayMode.EMBEDDINGS:
            return encode_json(embeddings_to_hunyuan(request.document()))
        return encode_json(chat_to_hunyuan(request.document(), model))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        if request.mode is RelayMode.EMBEDDINGS:
            return embeddings_from_hunyuan(answer, model)
        return hunyuan_to_chat(answer, model)

    def stream_converter(self, request: RelayRequest) -> HunyuanChatStream:
        return HunyuanChatStream(request.model, include_usage=request.client_wants_usage)


ADAPTER = TencentAdapter()
