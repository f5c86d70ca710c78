"""Clients in Anthropic's and Gemini's own formats, and /v1/responses on non-OpenAI channels."""

from __future__ import annotations

import json

import httpx

from oneapi.billing.pricing import price_for
from tests.relay.adapters.conftest import CHANNEL_KEYS, VendorWorld
from tests.relay.adapters.test_recorded_clients import CLAUDE, PDF
from tests.support.vendors import anthropic as anthropic_mock
from tests.support.vendors import gemini as gemini_mock
from tests.support.vendors.openai_compat import TOOL_ARGS

WEATHER_TOOL = {"name": "weather", "description": "Weather by city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def test_messages_to_anthropic_channel_pass_through(vendors: VendorWorld) -> None:
    key = vendors.key()
    client = vendors.anthropic(key)
    message = client.messages.create(model="claude-test", max_tokens=100, tools=[WEATHER_TOOL],
                                     messages=[{"role": "user", "content": "Weather?"}])
    assert message.stop_reason == "tool_use"
    assert message.content[1].type == "tool_use" and message.content[1].input == anthropic_mock.TOOL_INPUT
    sent = vendors.servers["anthropic"].received[-1]
    assert sent.headers["x-api-key"] == CHANNEL_KEYS["anthropic"]
    assert sent.json() == {"model": "claude-test", "max_tokens": 100, "tools": [WEATHER_TOOL],
                           "messages": [{"role": "user", "content": "Weather?"}]}
    with client.messages.stream(model="claude-test", max_tokens=100,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == anthropic_mock.REPLY and final.usage.output_tokens == 7
    logs = vendors.seed.wait_logs(key, 2)
    prompt = vendors.servers["anthropic"].prompt_tokens + anthropic_mock.CACHE_READ
    assert [(log.prompt_tokens, log.completion_tokens, log.is_stream) for log in logs] == [
        (prompt, 7, False), (prompt, 7, True)]
    facts = json.loads(logs[0].other)  # the cache reads billed at Anthropic's 0.1x, shown in the row
    assert facts["cache_read_tokens"] == anthropic_mock.CACHE_READ and facts["cache_ratio"] == 0.1
    price = price_for("claude-test", "default", 14)
    cached = price.text_quota(prompt, 7, anthropic_mock.CACHE_READ)
    assert logs[0].quota == cached < price.text_quota(prompt, 7)
    assert "cache read ratio 0.1" in logs[0].content


def test_messages_to_openai_channel_are_converted(vendors: VendorWorld) -> None:
    key = vendors.key()
    client = vendors.anthropic(key)
    message = client.messages.create(model="gpt-tools", max_tokens=100, system="Be brief.", tools=[WEATHER_TOOL],
                                     messages=[{"role": "user", "content": "Weather?"}])
    assert message.stop_reason == "tool_use"
    tool_use = message.content[0]
    assert tool_use.type == "tool_use" and tool_use.input == TOOL_ARGS
    sent = vendors.servers["compat"].received[-1].json()
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}]
    assert sent["tools"][0]["function"]["parameters"] == WEATHER_TOOL["input_schema"]
    followup = client.messages.create(model="gpt-tools", max_tokens=100, tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [tool_use.model_dump()]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "warm"}]}])
    assert followup.content[0].text == "The tool said: warm" and followup.stop_reason == "end_turn"
    with client.messages.stream(model="gpt-tools", max_tokens=100, tools=[WEATHER_TOOL],
                                messages=[{"role": "user", "content": "Weather?"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "tool_use" and final.content[0].input == TOOL_ARGS
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 4
    with client.messages.stream(model="gpt-tools", max_tokens=100,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        assert "".join(stream.text_stream) == "Hello from the mock upstream."
    logs = vendors.seed.wait_logs(key, 4)
    assert all(log.prompt_tokens == vendors.servers["compat"].prompt_tokens for log in logs)


def test_count_tokens(vendors: VendorWorld) -> None:
    counted = vendors.anthropic().messages.count_tokens(model="claude-test",
                                                        messages=[{"role": "user", "content": "Hello there"}])
    assert 3 < counted.input_tokens < 30


def test_gemini_native_to_gemini_channel_pass_through(vendors: VendorWorld) -> None:
    key = vendors.key()
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    url = f"{vendors.url}/v1beta/models/gemini-test"
    answer = httpx.post(f"{url}:generateContent", headers={"x-goog-api-key": key}, json=body).json()
    assert answer["candidates"][0]["content"]["parts"][-1]["text"] == gemini_mock.REPLY
    sent = vendors.servers["gemini"].received[-1]
    assert sent.json() == body and sent.headers["x-goog-api-key"] == CHANNEL_KEYS["gemini"]
    with httpx.stream("POST", f"{url}:streamGenerateContent?alt=sse&key={key}", json=body) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert "".join(p["text"] for e in events for p in json.loads(e)["candidates"][0]["content"]["parts"]
                   if not p.get("thought")) == gemini_mock.REPLY
    array = httpx.post(f"{url}:streamGenerateContent", headers={"x-goog-api-key": key}, json=body).json()
    assert array[-1]["usageMetadata"]["promptTokenCount"] == vendors.servers["gemini"].prompt_tokens
    logs = vendors.seed.wait_logs(key, 3)
    assert [log.prompt_tokens for log in logs] == [vendors.servers["gemini"].prompt_tokens] * 3
    hosted = {**body, "tools": [{"googleSearch": {}}, {"codeExecution": {}}]}
    raw = json.dumps({**hosted, "cachedContent": "cachedContents/1"}, separators=(",", ":")).encode()
    passed = httpx.post(f"{url}:generateContent", headers={"x-goog-api-key": key}, content=raw)
    assert passed.status_code == 200
    assert vendors.servers["gemini"].received[-1].body == raw  # Gemini's own tools reach Gemini untouched
    converted = httpx.post(f"{vendors.url}/v1beta/models/gpt-tools:generateContent",
                           headers={"x-goog-api-key": key}, json=hosted)
    assert converted.status_code == 200 and converted.headers["x-oneapi-omitted-tools"] == "codeExecution"
    assert vendors.servers["compat"].received[-1].json()["web_search_options"] == {}


def test_gemini_native_to_openai_channel_is_converted(vendors: VendorWorld) -> None:
    key = vendors.key()
    url = f"{vendors.url}/v1beta/models/gpt-tools"
    body = {"contents": [{"role": "user", "parts": [{"text": "Weather?"}]}],
            "tools": [{"functionDeclarations": [{"name": "weather", "parameters": {
                "type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}]}]}
    answer = httpx.post(f"{url}:generateContent", headers={"x-goog-api-key": key}, json=body).json()
    assert answer["candidates"][0]["content"]["parts"] == [{"functionCall": {"name": "weather", "args": TOOL_ARGS}}]
    assert answer["usageMetadata"]["promptTokenCount"] == vendors.servers["compat"].prompt_tokens
    sent = vendors.servers["compat"].received[-1].json()
    assert sent["tools"][0]["function"]["parameters"]["properties"] == {"city": {"type": "string"}}
    plain = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    with httpx.stream("POST", f"{url}:streamGenerateContent?alt=sse", headers={"x-goog-api-key": key},
                      json=plain) as response:
        pieces = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    text = "".join(p.get("text", "") for piece in pieces for p in piece["candidates"][0]["content"]["parts"])
    assert text == "Hello from the mock upstream."
    assert pieces[-1]["candidates"][0]["finishReason"] == "STOP"


def test_responses_api_on_an_anthropic_channel(vendors: VendorWorld) -> None:
    key = vendors.key()
    client = vendors.openai(key)
    response = client.responses.create(model="claude-test", input="hi", instructions="Be brief.")
    assert response.output_text == anthropic_mock.REPLY and response.status == "completed"
    sent = vendors.servers["anthropic"].received[-1].json()
    assert sent["system"] == [{"type": "text", "text": "Be brief."}]
    tools = [{"type": "function", "name": "weather", "parameters": WEATHER_TOOL["input_schema"]}]
    called = client.responses.create(model="claude-test", input="Weather?", tools=tools)
    call = called.output[-1]
    assert call.type == "function_call" and json.loads(call.arguments) == anthropic_mock.TOOL_INPUT
    events = list(client.responses.create(model="claude-test", input="hi", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == anthropic_mock.REPLY
    assert events[-1].response.usage.output_tokens == 7
    logs = vendors.seed.wait_logs(key, 3)
    assert [log.completion_tokens for log in logs] == [7, 7, 7]


def test_gemini_model_list_and_bad_paths(vendors: VendorWorld) -> None:
    key = vendors.key()
    listing = httpx.get(f"{vendors.url}/v1beta/models", params={"key": key}).json()
    assert "models/gemini-test" in [model["name"] for model in listing["models"]]
    assert httpx.get(f"{vendors.url}/v1beta/models?key=sk-wrong").status_code == 401
    assert httpx.post(f"{vendors.url}/v1beta/models/gemini-test", params={"key": key}, json={}).status_code == 404
    wrong = httpx.post(f"{vendors.url}/v1beta/models/gemini-test:embedText", params={"key": key}, json={})
    assert wrong.status_code == 400 and "embedText" in wrong.json()["error"]["message"]
    assert wrong.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_gemini_count_tokens_and_model_answer_as_google(vendors: VendorWorld) -> None:
    key = vendors.key()
    url = f"{vendors.url}/v1beta/models/gemini-test"
    contents = [{"role": "user", "parts": [{"text": "Hello there, how are you today?"}]}]
    counted = httpx.post(f"{url}:countTokens", params={"key": key}, json={"contents": contents}).json()
    wrapped = httpx.post(f"{url}:countTokens", headers={"x-goog-api-key": key},
                         json={"generateContentRequest": {"model": "models/gemini-test",
                                                          "contents": contents}})
    assert 5 < counted["totalTokens"] < 30 and wrapped.json() == counted
    model = httpx.get(url, params={"key": key})
    assert model.status_code == 200 and model.json()["name"] == "models/gemini-test"
    assert "generateContent" in model.json()["supportedGenerationMethods"]
    missing = httpx.get(f"{vendors.url}/v1beta/models/no-such-model", params={"key": key})
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    assert httpx.get(url, params={"key": "sk-wrong"}).json()["error"]["status"] == "UNAUTHENTICATED"
    assert vendors.seed.logs(vendors.seed.token_row(key).id) == []  # counting calls no channel


def _claude_code(key: str, body: bytes) -> dict[str, str]:
    headers = {name: value for name, value in CLAUDE[0]["headers"].items() if name != "user-agent"}
    return {**headers, "x-api-key": key}


def test_claude_code_body_reaches_an_anthropic_channel_byte_for_byte(vendors: VendorWorld) -> None:
    key = vendors.key()
    body = CLAUDE[0]["body"].encode()
    with httpx.stream("POST", f"{vendors.url}/v1/messages?beta=true", headers=_claude_code(key, body),
                      content=body) as response:
        events = [line for line in response.iter_lines() if line.startswith("event: ")]
    assert response.status_code == 200
    assert events[0] == "event: message_start" and events[-1] == "event: message_stop"
    sent = vendors.servers["anthropic"].received[-1]
    assert sent.body == body  # system role, betas' fields, cache_control: all untouched
    assert sent.headers["anthropic-beta"] == CLAUDE[0]["headers"]["anthropic-beta"]
    document = json.loads(body)
    document["tools"].append({"type": "web_search_20250305", "name": "web_search"})
    document["messages"][0]["content"].append({"type": "document", "source": {
        "type": "base64", "media_type": "application/pdf", "data": PDF}})
    served = httpx.post(f"{vendors.url}/v1/messages", headers=_claude_code(key, body),
                        json={**document, "stream": False})
    assert served.status_code == 200 and "x-oneapi-omitted-tools" not in served.headers
    assert vendors.servers["anthropic"].received[-1].json()["tools"][-1]["type"] == "web_search_20250305"


def test_claude_code_body_on_an_openai_channel_is_converted(vendors: VendorWorld) -> None:
    key = vendors.key()
    body = CLAUDE[-1]["body"].replace('"model":"claude-opus-4-8"', '"model":"gpt-tools"').encode()
    assert b'"gpt-tools"' in body
    document = json.loads(body)
    document["tools"].append({"type": "web_search_20250305", "name": "web_search"})
    document["tools"].append({"type": "code_execution_20250522", "name": "code_execution"})
    with httpx.stream("POST", f"{vendors.url}/v1/messages", headers=_claude_code(key, body),
                      json=document) as response:
        payloads = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert response.status_code == 200, payloads
    assert response.headers["x-oneapi-omitted-tools"] == "code_execution_20250522"
    assert payloads[0]["type"] == "message_start" and payloads[-1]["type"] == "message_stop"
    sent = vendors.servers["compat"].received[-1].json()
    assert [message["role"] for message in sent["messages"]].count("system") == 2
    assert sent["web_search_options"] == {} and all(tool["type"] == "function" for tool in sent["tools"])
    logs = vendors.seed.wait_logs(key, 1)
    assert json.loads(logs[-1].other)["omitted-tools"] == "code_execution_20250522"
    ollama = httpx.post(f"{vendors.url}/v1/messages", headers={"x-api-key": key}, json={
        "model": "llama-test", "max_tokens": 10, "messages": [{"role": "user", "content": "news?"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}]})
    assert ollama.status_code == 200 and ollama.headers["x-oneapi-omitted-tools"] == "web_search_20250305"
    pdf = httpx.post(f"{vendors.url}/v1/messages", headers={"x-api-key": key}, json={
        "model": "llama-test", "max_tokens": 10, "messages": [{"role": "user", "content": [
            {"type": "document",
             "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}}]}]})
    assert pdf.status_code == 400 and pdf.json()["type"] == "error"
    error = pdf.json()["error"]
    assert error["type"] == "invalid_request_error" and "Ollama" in error["message"]


def test_errors_answer_in_the_clients_dialect(vendors: VendorWorld) -> None:
    key = vendors.key()
    bad_key = httpx.post(f"{vendors.url}/v1/messages", headers={"x-api-key": "sk-wrong"},
                         json={"model": "claude-test", "max_tokens": 5, "messages": []})
    assert bad_key.status_code == 401 and bad_key.json()["type"] == "error"
    assert bad_key.json()["error"]["type"] == "authentication_error"
    no_model = httpx.post(f"{vendors.url}/v1/messages", headers={"x-api-key": key}, json={"messages": []})
    assert no_model.status_code == 400 and no_model.json()["error"] == {
        "type": "invalid_request_error", "message": "model: Field required"}
    unknown = httpx.post(f"{vendors.url}/v1/messages", headers={"x-api-key": key},
                         json={"model": "gpt-tools", "max_tokens": 5,
                               "messages": [{"role": "narrator", "content": "x"}]})
    assert unknown.status_code == 400 and "Unexpected role" in unknown.json()["error"]["message"]
    upstream = httpx.post(f"{vendors.url}/v1/messages", headers={"x-api-key": key},
                          json={"model": "claude-broken", "max_tokens": 5,
                                "messages": [{"role": "user", "content": "x"}]})
    assert upstream.status_code == 400 and upstream.json()["error"]["type"] == "invalid_request_error"
    assert upstream.json()["error"]["message"] == "anthropic says 400"
    no_channel = httpx.post(f"{vendors.url}/v1/messages", headers={"x-api-key": key},
                            json={"model": "nobody-serves-this", "max_tokens": 5, "messages": []})
    assert no_channel.status_code == 529 and no_channel.json()["error"]["type"] == "overloaded_error"
    google = httpx.post(f"{vendors.url}/v1beta/models/gemini-test:generateContent",
                        params={"key": "sk-wrong"}, json={"contents": []})
    assert google.status_code == 401 and google.json()["error"]["status"] == "UNAUTHENTICATED"
    broken = httpx.post(f"{vendors.url}/v1beta/models/gemini-broken:generateContent", params={"key": key},
                        json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]})
    assert broken.status_code == 400 and broken.json()["error"] == {
        "code": 400, "message": "gemini says 400", "status": "INVALID_ARGUMENT"}
    openai = httpx.post(f"{vendors.url}/v1/chat/completions", headers={"Authorization": "Bearer sk-wrong"},
                        json={"model": "gpt-tools", "messages": []})
    assert openai.status_code == 401 and openai.json()["error"]["code"] == "invalid_api_key"
    assert httpx.head(f"{vendors.url}/").status_code == 200
