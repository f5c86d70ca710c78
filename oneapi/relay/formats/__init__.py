"""Pure conversions between OpenAI chat completions and other wire formats.

OpenAI's chat completion is the pivot: vendor modules (``anthropic``, ``gemini``,
``ollama``) turn chat requests into the vendor's and the vendor's answers and streams
back into chat; entry-point modules (``anthropic_in``, ``gemini_in``, ``responses``)
turn a client's own format into chat and chat answers back. Nothing here does I/O
except :func:`media.fetch_images`; stream converters are fed raw bytes and return
bytes, so they compose (a Gemini channel can serve ``/v1/messages``).
"""
