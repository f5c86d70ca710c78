"""The official OpenAI SDK through ``python app.py`` to vendors that answer over HTTPS, as hosted ones do.

Every other relay test reaches its mock vendor over plain http, which never touches the TLS
context the gateway builds for https:// upstreams (:mod:`oneapi.relay.upstream.tls`). Here the
gateway runs as users run it, with a throwaway CA as the system's trust store
(``SSL_CERT_FILE``): a vendor whose certificate that CA signed answers a plain and a streamed
chat, and is billed; one signed by another CA is refused in OpenAI's error format, and nothing
is billed for it.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import openai
import pytest
import trustme

from tests.support.gateway import run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import REPLY, OpenAIUpstream

MODEL, UNTRUSTED_MODEL = "gpt-4o-mini", "gpt-4o"


def _served_by(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return context


def test_the_sdk_relays_to_vendors_over_https(tmp_path: Path) -> None:
    trusted, unknown = trustme.CA(), trustme.CA()
    trust_store = tmp_path / "system-cas.pem"
    trusted.cert_pem.write_to_path(str(trust_store))
    with (OpenAIUpstream(tls=_served_by(trusted)) as vendor,
          OpenAIUpstream(tls=_served_by(unknown), name="impostor") as impostor):
        assert vendor.url.startswith("https://")
        seed = Seed(tmp_path / "one-api.db")
        seed.channel(vendor.url, [MODEL])
        seed.channel(impostor.url, [UNTRUSTED_MODEL])
        key = seed.token(seed.user(), unlimited=True)
        env = {"SSL_CERT_FILE": str(trust_store), "SSL_CERT_DIR": str(tmp_path)}
        with run_gateway(tmp_path, env) as gateway:
            client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)
            messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]

            answer = client.chat.completions.create(model=MODEL, messages=messages)
            assert answer.choices[0].message.content == REPLY
            assert answer.usage is not None and answer.usage.prompt_tokens == vendor.prompt_tokens
            stream = client.chat.completions.create(model=MODEL, messages=messages, stream=True,
                                                    stream_options={"include_usage": True})
            assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == REPLY
            assert [call.path for call in vendor.received] == ["/v1/chat/completions"] * 2

            with pytest.raises(openai.APIStatusError) as refused:
                client.chat.completions.create(model=UNTRUSTED_MODEL, messages=messages)
            assert refused.value.status_code == 502
            error = refused.value.body
            assert isinstance(error, dict) and error["type"] == "upstream_error", error
            assert impostor.received == []  # the handshake failed: no request reached it

        logs = seed.wait_logs(key, 2)
        assert [log.model_name for log in logs] == [MODEL, MODEL]
