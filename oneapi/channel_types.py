"""Channel types: one-api's type numbers, names, default base URLs and wire formats.

The numbers are one-api's (reference §2.1), so a channels table written by one-api means
the same here. ``api_format`` names the adapter module under ``oneapi.relay.adapters``
that speaks to the vendor; every plain OpenAI-compatible vendor shares ``openai`` (DeepSeek,
OpenRouter and SiliconFlow have their own modules only for their balance endpoints).
The types one-api itself retired (11 PaLM, 15 Baidu v1, 18 Xunfei websocket) are listed
so their channels load, marked with the type that replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ("CHANNEL_TYPES", "ChannelType", "channel_type")


@dataclass(frozen=True)
class ChannelType:
    id: int
    name: str
    base_url: str
    api_format: str = "openai"
    default_models: tuple[str, ...] = field(default=())
    # True when base_url already ends in the vendor's API version (".../api/v3"), so
    # an OpenAI path "/v1/chat/completions" is sent as base_url + "/chat/completions".
    versioned_base: bool = False
    # True when the adapter builds the vendor's endpoint from the channel's config (AWS and
    # Vertex regions): the base URL is optional and, when set, replaces that endpoint.
    regional: bool = False
    # For the types one-api retired: the type that replaces it. Such channels load and are
    # shown, but answer every request with an error naming the replacement.
    replaced_by: int | None = None
    # True when the type's adapter reads the account balance (one-api's update_balance)
    balance: bool = False

    @property
    def deprecated(self) -> bool:
        return self.replaced_by is not None


# Default model lists as of December 2026: each vendor's current models first, then the older
# ones that are still served and that existing clients ask for by name.
_OPENAI_MODELS = ("gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o",
                  "gpt-4o-mini", "o3", "o3-mini", "o4-mini", "gpt-3.5-turbo", "text-embedding-3-small",
                  "text-embedding-3-large", "text-embedding-ada-002", "gpt-image-1", "dall-e-3", "whisper-1",
                  "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "tts-1", "tts-1-hd", "gpt-4o-mini-tts",
                  "omni-moderation-latest", "text-moderation-latest")
_CLAUDE_MODELS = ("claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1",
                  "claude-opus-4-0", "claude-sonnet-4-0", "claude-3-7-sonnet-latest",
                  "claude-3-5-haiku-latest")
_GEMINI_MODELS = ("gemini-3-pro-preview", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
                  "gemini-2.0-flash", "gemini-2.0-flash-lite")
_QWEN_MODELS = ("qwen3-max", "qwen-max", "qwen-plus", "qwen-flash", "qwen-turbo", "qwen3-coder-plus",
                "qwq-plus", "qwen-long", "text-embedding-v4")

_TYPES = (
    ChannelType(1, "OpenAI", "https://api.openai.com", default_models=_OPENAI_MODELS, balance=True),
    ChannelType(2, "API2D", "https://oa.api2d.net", default_models=_OPENAI_MODELS),
    ChannelType(3, "Azure OpenAI", "", "azure", _OPENAI_MODELS),
    ChannelType(4, "CloseAI", "https://api.closeai-proxy.xyz", default_models=_OPENAI_MODELS),
    ChannelType(5, "OpenAI-SB", "https://api.openai-sb.com", default_models=_OPENAI_MODELS),
    ChannelType(6, "OpenAIMax", "https://api.openaimax.com", default_models=_OPENAI_MODELS),
    ChannelType(7, "OhMyGPT", "https://api.ohmygpt.com", default_models=_OPENAI_MODELS),
    ChannelType(8, "Custom (OpenAI-compatible)", "", default_models=_OPENAI_MODELS, balance=True),
    ChannelType(9, "Ails", "https://api.caipacity.com", default_models=_OPENAI_MODELS),
    ChannelType(10, "AIProxy", "https://api.aiproxy.io", default_models=_OPENAI_MODELS),
    ChannelType(11, "Google PaLM (obsolete: use type 24, Google Gemini)",
                "https://generativelanguage.googleapis.com", "obsolete", replaced_by=24),
    ChannelType(12, "API2GPT", "https://api.api2gpt.com", default_models=_OPENAI_MODELS),
    ChannelType(13, "AIGC2D", "https://api.aigc2d.com", default_models=_OPENAI_MODELS),
    ChannelType(14, "Anthropic Claude", "https://api.anthropic.com", "anthropic", _CLAUDE_MODELS),
    ChannelType(15, "Baidu Wenxin v1 (obsolete: use type 47, Baidu Qianfan v2)", "https://aip.baidubce.com",
                "obsolete", replaced_by=47),
    ChannelType(16, "Zhipu GLM", "https://open.bigmodel.cn", "zhipu",
                ("glm-4.6", "glm-4.5", "glm-4.5-air", "glm-4.5-flash", "glm-4.5v", "glm-4-plus",
                 "glm-4-flash", "embedding-3")),
    ChannelType(17, "Alibaba Qwen (DashScope compatible)", "https://dashscope.aliyuncs.com/compatible-mode",
                default_models=_QWEN_MODELS),
    ChannelType(18, "Xunfei Spark v1 websocket (obsolete: use type 48, Xunfei Spark OpenAI-style)", "",
                "obsolete", replaced_by=48),
    ChannelType(19, "360 AI", "https://ai.360.cn", default_models=("360gpt2-pro", "360gpt-pro",
                                                                   "360gpt-turbo")),
    ChannelType(20, "OpenRouter", "https://openrouter.ai/api", "openrouter", balance=True,
                default_models=("openai/gpt-5", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5",
                                "google/gemini-2.5-pro", "google/gemini-2.5-flash",
                                "deepseek/deepseek-chat-v3.1", "meta-llama/llama-4-maverick", "x-ai/grok-4")),
    ChannelType(21, "AIProxy Library", "https://api.aiproxy.io", "aiproxy_library"),
    ChannelType(22, "FastGPT", "https://fastgpt.run/api/openapi"),
    ChannelType(23, "Tencent Hunyuan", "https://hunyuan.tencentcloudapi.com", "tencent",
                ("hunyuan-turbos-latest", "hunyuan-t1-latest", "hunyuan-large", "hunyuan-standard-256K",
                 "hunyuan-lite", "hunyuan-functioncall", "hunyuan-role", "hunyuan-embedding")),
    ChannelType(24, "Google Gemini", "https://generativelanguage.googleapis.com", "gemini",
                (*_GEMINI_MODELS, "gemini-embedding-001", "text-embedding-004")),
    ChannelType(25, "Moonshot", "https://api.moonshot.cn",
                default_models=("kimi-k2-0905-preview", "kimi-k2-turbo-preview", "kimi-latest",
                                "moonshot-v1-8k", "moonshot-v1-32k", "moonshot-v1-128k")),
    ChannelType(26, "Baichuan", "https://api.baichuan-ai.com",
                default_models=("Baichuan4-Turbo", "Baichuan4-Air", "Baichuan4", "Baichuan3-Turbo",
                                "Baichuan-Text-Embedding")),
    ChannelType(27, "MiniMax", "https://api.minimax.chat",
                default_models=("MiniMax-M2", "MiniMax-M1", "MiniMax-Text-01", "abab6.5s-chat")),
    ChannelType(28, "Mistral AI", "https://api.mistral.ai",
                default_models=("mistral-large-latest", "mistral-medium-latest", "mistral-small-latest",
                                "magistral-medium-latest", "codestral-latest", "ministral-8b-latest",
                                "pixtral-large-latest", "open-mistral-nemo", "mistral-embed")),
    ChannelType(29, "Groq", "https://api.groq.com/openai",
                default_models=("openai/gpt-oss-120b", "openai/gpt-oss-20b", "llama-3.3-70b-versatile",
                                "llama-3.1-8b-instant", "meta-llama/llama-4-maverick-17b-128e-instruct",
                                "moonshotai/kimi-k2-instruct", "qwen/qwen3-32b", "whisper-large-v3")),
    ChannelType(30, "Ollama", "http://localhost:11434", "ollama",
                ("gpt-oss", "qwen3", "gemma3", "llama3.3", "llama3.2", "deepseek-r1", "mistral",
                 "nomic-embed-text")),
    ChannelType(31, "01.AI LingYiWanWu", "https://api.lingyiwanwu.com",
                default_models=("yi-lightning", "yi-large")),
    ChannelType(32, "StepFun", "https://api.stepfun.com",
                default_models=("step-2-16k", "step-2-mini", "step-1-8k", "step-1-32k", "step-1v-8k")),
    ChannelType(33, "AWS Bedrock", "", "bedrock",
                ("claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1",
                 "claude-sonnet-4-0", "claude-3-7-sonnet-20250219", "claude-3-5-haiku-20241022",
                 "nova-premier", "nova-pro", "nova-lite", "nova-micro", "llama-4-maverick-17b-instruct",
                 "llama-3.3-70b-instruct", "mistral-large-2407", "deepseek-r1"), regional=True),
    ChannelType(34, "Coze", "https://api.coze.com", "coze"),
    ChannelType(35, "Cohere", "https://api.cohere.ai", "cohere",
                ("command-a-03-2025", "command-a-reasoning-08-2025", "command-a-vision-07-2025",
                 "command-r-plus-08-2024", "command-r-08-2024", "command-r7b-12-2024", "embed-v4.0",
                 "embed-multilingual-v3.0", "rerank-v3.5")),
    ChannelType(36, "DeepSeek", "https://api.deepseek.com", "deepseek",
                ("deepseek-chat", "deepseek-reasoner"), balance=True),
    ChannelType(37, "Cloudflare Workers AI", "https://api.cloudflare.com", "cloudflare",
                ("@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b",
                 "@cf/meta/llama-4-scout-17b-16e-instruct",
                 "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/meta/llama-3.1-8b-instruct",
                 "@cf/qwen/qwen2.5-coder-32b-instruct", "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
                 "@cf/mistralai/mistral-small-3.1-24b-instruct", "@cf/baai/bge-m3",
                 "@cf/baai/bge-large-en-v1.5")),
    ChannelType(38, "DeepL", "https://api-free.deepl.com", "deepl",
                ("deepl-zh", "deepl-en", "deepl-ja", "deepl-de", "deepl-fr", "deepl-es", "deepl-ko")),
    ChannelType(39, "Together AI", "https://api.together.xyz",
                default_models=("openai/gpt-oss-120b", "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
                                "meta-llama/Llama-3.3-70B-Instruct-Turbo", "deepseek-ai/DeepSeek-V3",
                                "Qwen/Qwen2.5-72B-Instruct-Turbo")),
    ChannelType(40, "ByteDance Doubao", "https://ark.cn-beijing.volces.com/api/v3",
                default_models=("doubao-seed-1-6-250615", "doubao-seed-1-6-thinking-250715",
                                "doubao-seed-1-6-flash-250828", "doubao-1-5-pro-32k-250115",
                                "doubao-1-5-lite-32k-250115"), versioned_base=True),
    ChannelType(41, "Novita", "https://api.novita.ai/v3/openai",
                default_models=("deepseek/deepseek-v3.1", "openai/gpt-oss-120b",
                                "meta-llama/llama-3.3-70b-instruct",
                                "meta-llama/llama-3.1-8b-instruct"), versioned_base=True),
    ChannelType(42, "Google Vertex AI", "", "vertex",
                (*_GEMINI_MODELS, "claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5",
                 "claude-opus-4-1", "claude-sonnet-4-0", "gemini-embedding-001", "text-embedding-005"),
                regional=True),
    ChannelType(43, "Proxy (pass-through at /v1/oneapi/proxy/{id}/...)", "", "proxy"),
    ChannelType(44, "SiliconFlow", "https://api.siliconflow.cn", "siliconflow", balance=True,
                default_models=("deepseek-ai/DeepSeek-V3.1", "deepseek-ai/DeepSeek-R1",
                                "moonshotai/Kimi-K2-Instruct",
                                "Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen/Qwen2.5-7B-Instruct",
                                "BAAI/bge-m3", "BAAI/bge-reranker-v2-m3")),
    ChannelType(45, "xAI", "https://api.x.ai",
                default_models=("grok-4", "grok-4-fast-reasoning", "grok-4-fast-non-reasoning",
                                "grok-code-fast-1", "grok-3", "grok-3-mini")),
    ChannelType(46, "Replicate", "https://api.replicate.com", "replicate",
                ("meta/meta-llama-3-70b-instruct", "meta/meta-llama-3-8b-instruct", "deepseek-ai/deepseek-r1",
                 "ibm-granite/granite-3.3-8b-instruct", "black-forest-labs/flux-1.1-pro",
                 "black-forest-labs/flux-schnell", "black-forest-labs/flux-dev",
                 "ideogram-ai/ideogram-v3-turbo",
                 "recraft-ai/recraft-v3", "stability-ai/stable-diffusion-3.5-large")),
    ChannelType(47, "Baidu Qianfan v2", "https://qianfan.baidubce.com/v2",
                default_models=("ernie-4.5-turbo-128k", "ernie-x1-turbo-32k", "ernie-4.0-8k", "ernie-3.5-8k",
                                "ernie-speed-128k"), versioned_base=True),
    ChannelType(48, "Xunfei Spark (OpenAI-style)", "https://spark-api-open.xf-yun.com",
                default_models=("x1", "4.0Ultra", "generalv3.5", "max-32k", "pro-128k", "lite")),
    ChannelType(49, "Alibaba Bailian", "https://dashscope.aliyuncs.com/compatible-mode",
                default_models=_QWEN_MODELS),
    ChannelType(50, "OpenAI-compatible", "", default_models=_OPENAI_MODELS, versioned_base=True),
    ChannelType(51, "Gemini (OpenAI-compatible)", "https://generativelanguage.googleapis.com/v1beta/openai",
                default_models=_GEMINI_MODELS, versioned_base=True),
)

CHANNEL_TYPES: dict[int, ChannelType] = {channel_type.id: channel_type for channel_type in _TYPES}


def channel_type(type_id: int) -> ChannelType:
    """The type's description; unknown numbers are treated as custom OpenAI-compatible."""
    return CHANNEL_TYPES.get(type_id) or CHANNEL_TYPES[8]
