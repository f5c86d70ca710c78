"""One API for Python: a self-hosted, OpenAI-compatible LLM API gateway.

Pydantic looks for plugins by reading the entry points of every installed distribution
when it builds its first model, which on a boot cost as much as 30-80 ms (more with more
packages installed); the gateway uses no pydantic plugin, so unless the environment says
otherwise that search is skipped.
"""

import os

__version__ = "0.1.0"

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
