# One API for Python: the image every container host builds (Render, Koyeb, any Docker host).
#
#   docker build -t one-api .
#   docker run -d -p 3000:3000 -v one-api-data:/data one-api
#
# Configuration is environment variables only (see the README). Without SQL_DSN the data
# is SQLite at /data/one-api.db: mount a volume on /data to keep it across containers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 oneapi \
    && mkdir -p /data \
    && chown oneapi:oneapi /data

WORKDIR /app
# The runtime dependencies, pinned with their hashes (deploy/lock.sh), in their own layer,
# with their shared libraries' symbols stripped as the Lambda package strips them (152 MB
# installed became 118 MB; binutils is there for that step only).
COPY requirements.lock ./
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && pip install --require-hashes --no-deps -r requirements.lock \
    && find "$(python -c 'import sysconfig; print(sysconfig.get_path("platlib"))')" \
        -name '*.so*' -type f -exec strip --strip-unneeded {} + \
    && apt-get purge -y --auto-remove binutils \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md app.py ./
COPY oneapi ./oneapi
RUN pip install --no-deps .

USER oneapi
ENV PORT=3000 \
    SQLITE_PATH=/data/one-api.db
VOLUME /data
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

CMD ["python", "app.py"]
