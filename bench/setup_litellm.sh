#!/usr/bin/env bash
# Install the LiteLLM proxy the benchmark compares against, in its own virtualenv
# (bench/.venv-litellm, git-ignored) so its dependencies never touch the gateway's.
set -euo pipefail
cd "$(dirname "$0")"
LITELLM_VERSION="${LITELLM_VERSION:-1.83.14}"
if [ ! -x .venv-litellm/bin/litellm ]; then
  python -m venv .venv-litellm
  .venv-litellm/bin/pip install -q --upgrade pip
  .venv-litellm/bin/pip install -q "litellm[proxy]==${LITELLM_VERSION}"
fi
.venv-litellm/bin/litellm --version 2>/dev/null || .venv-litellm/bin/pip show litellm | head -2
