"""Pure conversions between OpenAI chat completions and other wire formats.

OpenAI's chat completion is the pivot: upstream modules (``anthropic_upstream``,
``gemini_upstream``, ``ollama``, ...) turn chat requests into the vendor's and the vendor's
answers and streams back into chat; client modules (``anthropic_client``, ``gemini_client``,
``responses``) turn a client's own format into chat and chat answers back. Where both sides
of one vendor's format exist, the name ends in ``_upstream`` or ``_client``. Nothing here does I/O
except :func:`media.fetch_images`; stream converters are fed raw bytes and return
bytes, so they compose (a Gemini channel can serve ``/v1/messages``).
"""
