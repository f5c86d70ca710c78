"""AWS Bedrock (channel type 33): the Converse API, signed with AWS Signature Version 4.

Chat goes to ``POST {endpoint}/model/{model id}/converse`` (``/converse-stream`` for
streams, answered as AWS's binary event stream: :mod:`oneapi.relay.formats.bedrock`).
The endpoint is ``https://bedrock-runtime.{region}.amazonaws.com`` unless the channel sets a
base URL (a VPC endpoint, a regional gateway, a test server).

Credentials as one-api stores them: the channel config's ``ak``, ``sk`` and ``region``,
else the key ``AK|SK|REGION`` (one-api's UI writes both); a fourth ``|``-part is a
session token. Requests are signed with AWS Signature Version 4 here, by :func:`_signed`, as
botocore's ``SigV4Auth`` signed them (``tests/relay/channels/test_bedrock.py`` compares the
two on model ids and inference-profile ARNs, with and without a session token); about 20 µs
a request. botocore, AWS's SDK core, had been a runtime dependency for Bedrock alone: 22.4 MB
installed with its jmespath, python-dateutil and six (summed from their RECORDs; 28 MB with
bytecode), where the signer and the decoder now need nothing but the standard library. Its
event-stream decoder became :class:`~oneapi.relay.formats.bedrock.EventStreamDecoder`.

Why not a signing library: ``httpx-auth``, ``httpx-aws-auth`` and ``aiohttp-aws-auth`` sign
the URL's decoded path, where AWS encodes the path as sent once more, so an ARN's ``/``, sent
as ``%2F``, must be signed as ``%252F`` (and ``httpx-auth`` pins httpx 0.28, older than the
lock's). ``requests-aws4auth`` signs right, but imports requests, which would then join the
Lambda zip with urllib3 and charset-normalizer: 102.2 MB unzipped against its 100 MB cap
(``deploy/lambda/package.py``).

Embeddings go to ``/model/{id}/invoke`` with the model's own body: Titan's ``inputText`` (one
text a call, its token count in the answer) or Cohere's ``texts`` (counted locally).

A ``/v1/messages`` client asking for Claude gets :class:`BedrockMessages`: its own Anthropic
body through InvokeModel, so prompt caching, thinking and betas survive (the Converse path
goes through chat completions, which carry none of them).

Model names: one-api's and Anthropic's names (``claude-sonnet-4-5``) are mapped to Bedrock
model ids; models that Bedrock serves only through cross-region inference profiles get
the profile of the channel's region (``us.``, ``eu.``, ``apac.``). A name that is already a
Bedrock id or an ARN (say through the channel's model mapping) is sent as it is.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from oneapi.cache import CachedChannel
from oneapi.errors import UpstreamError
from oneapi.relay.adapters.anthropic import anthropic_answer
from oneapi.relay.adapters.base import Adapter, ConvertedResponse, UpstreamRequest
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.counting import count_prompt
from oneapi.relay.formats.anthropic_upstream import needs_json_tool
from oneapi.relay.formats.bedrock import (
    ConverseStream,
    InvokeStream,
    chat_to_converse,
    converse_to_chat,
    embeddings_from_bedrock,
    embeddings_to_bedrock,
)
from oneapi.relay.formats.events import encode_json
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "AwsCredentials", "BedrockAdapter", "BedrockMessages", "aws_credentials",
           "bedrock_model_id")

SERVICE = "bedrock"
BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"

# Bedrock model ids of the names clients use; True: served only through an inference profile.
MODEL_IDS: dict[str, tuple[str, bool]] = {
    "claude-3-haiku-20240307": ("anthropic.claude-3-haiku-20240307-v1:0", False),
    "claude-3-5-haiku-20241022": ("anthropic.claude-3-5-haiku-20241022-v1:0", False),
    "claude-3-5-sonnet-20240620": ("anthropic.claude-3-5-sonnet-20240620-v1:0", False),
    "claude-3-5-sonnet-20241022": ("anthropic.claude-3-5-sonnet-20241022-v2:0", False),
    "claude-3-7-sonnet-20250219": ("anthropic.claude-3-7-sonnet-20250219-v1:0", True),
    "claude-sonnet-4-20250514": ("anthropic.claude-sonnet-4-20250514-v1:0", True),
    "claude-opus-4-20250514": ("anthropic.claude-opus-4-20250514-v1:0", True),
    "claude-opus-4-1-20250805": ("anthropic.claude-opus-4-1-20250805-v1:0", True),
    "claude-sonnet-4-5-20250929": ("anthropic.claude-sonnet-4-5-20250929-v1:0", True),
    "claude-haiku-4-5-20251001": ("anthropic.claude-haiku-4-5-20251001-v1:0", True),
    "claude-opus-4-5-20251101": ("anthropic.claude-opus-4-5-20251101-v1:0", True),
    "llama3-8b-8192": ("meta.llama3-8b-instruct-v1:0", False),
    "llama3-70b-8192": ("meta.llama3-70b-instruct-v1:0", False),
    "llama-3.1-8b-instruct": ("meta.llama3-1-8b-instruct-v1:0", True),
    "llama-3.1-70b-instruct": ("meta.llama3-1-70b-instruct-v1:0", True),
    "llama-3.3-70b-instruct": ("meta.llama3-3-70b-instruct-v1:0", True),
    "llama-4-scout-17b-instruct": ("meta.llama4-scout-17b-instruct-v1:0", True),
    "llama-4-maverick-17b-instruct": ("meta.llama4-maverick-17b-instruct-v1:0", True),
    "mistral-large-2407": ("mistral.mistral-large-2407-v1:0", False),
    "pixtral-large-2502": ("mistral.pixtral-large-2502-v1:0", True),
    "nova-micro": ("amazon.nova-micro-v1:0", False),
    "nova-lite": ("amazon.nova-lite-v1:0", False),
    "nova-pro": ("amazon.nova-pro-v1:0", False),
    "nova-premier": ("amazon.nova-premier-v1:0", True),
    "deepseek-r1": ("deepseek.r1-v1:0", True),
    "titan-embed-text-v2": ("amazon.titan-embed-text-v2:0", False),
    "cohere-embed-english-v3": ("cohere.embed-english-v3", False),
    "cohere-embed-multilingual-v3": ("cohere.embed-multilingual-v3", False),
}
# Anthropic's aliases of the dated names
_ALIASES = {"claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
            "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
            "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
            "claude-sonnet-4-0": "claude-sonnet-4-20250514", "claude-opus-4-0": "claude-opus-4-20250514",
            "claude-opus-4-1": "claude-opus-4-1-20250805", "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
            "claude-haiku-4-5": "claude-haiku-4-5-20251001", "claude-opus-4-5": "claude-opus-4-5-20251101"}


def _profile(region: str) -> str:
    if region.startswith("eu-"):
        return "eu."
    if region.startswith("ap-"):
        return "apac."
    return "us."


def bedrock_model_id(model: str, region: str) -> str:
    """The Bedrock model id (or inference profile) for a client's model name."""
    found = MODEL_IDS.get(_ALIASES.get(model, model))
    if found is None:
        return model
    model_id, needs_profile = found
    return _profile(region) + model_id if needs_profile else model_id


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    access_key: str
    secret_key: str
    region: str
    session_token: str | None = None


def aws_credentials(channel: CachedChannel, key: str) -> AwsCredentials:
    """The channel's credentials: config ``ak``/``sk``/``region``, else the key ``AK|SK|REGION``."""
    config = channel.config
    if all(isinstance(config.get(name), str) and config[name] for name in ("ak", "sk", "region")):
        return AwsCredentials(config["ak"], config["sk"], config["region"])
    parts = [part.strip() for part in key.split("|")]
    if len(parts) in (3, 4) and all(parts[:3]):
        return AwsCredentials(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else None)
    raise UpstreamError(f"channel #{channel.id} (AWS Bedrock) needs its key as AK|SK|REGION "
                        "or ak, sk and region in its config")


def _model_url(channel: CachedChannel, region: str, model: str) -> str:
    endpoint = ADAPTER.base_url(channel, f"https://bedrock-runtime.{region}.amazonaws.com")
    # ':' stays as it is: aiohttp would send it decoded anyway, and the signature must match
    return f"{endpoint}/model/{quote(bedrock_model_id(model, region), safe=':')}"


def _signed(credentials: AwsCredentials, url: str, headers: dict[str, str], body: bytes) -> UpstreamRequest:
    """The request with SigV4's ``X-Amz-Date`` and ``Authorization`` headers added, and the
    session token's ``X-Amz-Security-Token``; every header is signed, with ``host``.

    The canonical URI is the path as aiohttp sends it (``:`` as it is, ``/`` in an ARN as
    ``%2F``) percent-encoded once more, as AWS does for every service but S3.
    """
    now = datetime.datetime.now(datetime.UTC)
    date, amz_date = now.strftime("%Y%m%d"), now.strftime("%Y%m%dT%H%M%SZ")
    headers = {**headers, "X-Amz-Date": amz_date}
    if credentials.session_token:
        headers["X-Amz-Security-Token"] = credentials.session_token
    parts = urlsplit(url)
    host = parts.netloc.removesuffix({"https": ":443", "http": ":80"}.get(parts.scheme, ""))
    canonical = {"host": host} | {name.lower(): value for name, value in headers.items()}
    signed_names = ";".join(sorted(canonical))
    canonical_request = "\n".join([
        "POST", quote(parts.path), "",  # no query string
        "".join(f"{name}:{canonical[name]}\n" for name in sorted(canonical)),
        signed_names, hashlib.sha256(body).hexdigest(),
    ])  # fmt: skip
    scope = f"{date}/{credentials.region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (date, credentials.region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                                f"SignedHeaders={signed_names}, Signature={signature}")
    return UpstreamRequest("POST", url, headers, body)


def _first_key_region(channel: CachedChannel) -> str:
    return aws_credentials(channel, channel.keys[0] if channel.keys else "").region


class _SigV4Signed(Adapter):
    """Requests signed with the key's credentials, at a URL that depends on the key's region."""

    def build_request(self, channel: CachedChannel, key: str, request: RelayRequest,
                      model: str) -> UpstreamRequest:
        credentials = aws_credentials(channel, key)
        url = self._url(channel, credentials.region, request, model)
        return _signed(credentials, url, self.request_headers(channel, key, request),
                       self.convert_request(channel, request, model))

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        """The URL for the channel's first key (:meth:`build_request` uses the key it signs with)."""
        return self._url(channel, _first_key_region(channel), request, model)

    @staticmethod
    def _url(channel: CachedChannel, region: str, request: RelayRequest, model: str) -> str:
        raise NotImplementedError


class BedrockAdapter(_SigV4Signed, VendorAdapter):
    vendor = "AWS Bedrock"
    modes = frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS})

    @staticmethod
    def _url(channel: CachedChannel, region: str, request: RelayRequest, model: str) -> str:
        if request.mode is RelayMode.EMBEDDINGS:
            return f"{_model_url(channel, region, model)}/invoke"
        return f"{_model_url(channel, region, model)}/{'converse-stream' if request.stream else 'converse'}"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        headers["Accept"] = "application/vnd.amazon.eventstream" if request.stream else "application/json"
        return headers

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        if request.mode is RelayMode.EMBEDDINGS:
            return encode_json(embeddings_to_bedrock(request.document(), bedrock_model_id(model, "")))
        return encode_json(chat_to_converse(request.document(), request.images))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        if request.mode is RelayMode.EMBEDDINGS:
            return embeddings_from_bedrock(answer, model, count_prompt(request))
        return converse_to_chat(answer, model, json_tool=needs_json_tool(request.document()))

    def is_stream(self, content_type: str) -> bool:
        return "amazon.eventstream" in content_type

    def stream_converter(self, request: RelayRequest) -> ConverseStream:
        return ConverseStream(request.model, include_usage=request.client_wants_usage,
                              json_tool=needs_json_tool(request.document()))

    def native_adapter(self, channel: CachedChannel, request: RelayRequest) -> Adapter | None:
        from oneapi.relay.client_formats import ANTHROPIC_MESSAGES

        client = request.client
        if client.format is ANTHROPIC_MESSAGES and "anthropic." in bedrock_model_id(
                channel.upstream_model(request.model), ""):
            return BedrockMessages(self, client)
        return None


class BedrockMessages(_SigV4Signed):
    """A ``/v1/messages`` request for Claude: Anthropic's own body through InvokeModel.

    ``POST .../model/{id}/invoke`` (``/invoke-with-response-stream``) takes the Messages body
    without ``model`` and ``stream``, with ``anthropic_version: bedrock-2023-05-31`` and the
    client's ``anthropic-beta`` header as ``anthropic_beta``; the answer is Anthropic's own,
    passed back untouched (streams re-framed from AWS's binary frames into SSE).
    """

    modes = frozenset({RelayMode.CHAT})

    def __init__(self, bedrock: BedrockAdapter, client: Any) -> None:
        self.bedrock, self.client = bedrock, client

    @staticmethod
    def _url(channel: CachedChannel, region: str, request: RelayRequest, model: str) -> str:
        action = "invoke-with-response-stream" if request.stream else "invoke"
        return f"{_model_url(channel, region, model)}/{action}"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return self.bedrock.request_headers(channel, key, request)

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        body = {name: value for name, value in self.client.document().items()
                if name not in ("model", "stream")}
        body["anthropic_version"] = BEDROCK_ANTHROPIC_VERSION
        betas = self.client.headers.get("anthropic-beta")
        if betas:
            body["anthropic_beta"] = [beta.strip() for beta in betas.split(",") if beta.strip()]
        return encode_json(body)

    def convert_response(self, request: RelayRequest, body: bytes, content_type: str) -> ConvertedResponse:
        return anthropic_answer(body, content_type)

    def is_stream(self, content_type: str) -> bool:
        return self.bedrock.is_stream(content_type)

    def stream_converter(self, request: RelayRequest) -> InvokeStream:
        return InvokeStream()

    def error_message(self, status: int, body: bytes) -> str:
        return self.bedrock.error_message(status, body)


ADAPTER = BedrockAdapter()
