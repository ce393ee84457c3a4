# slawatch: one image for every verb (worker, topics apply, notify alertmanager, status, ...).
#   docker build -t slawatch:0.1.0 .
#   docker run --rm slawatch:0.1.0 worker --broker kafka:9092 --catalog /etc/slawatch/catalog
# The install is the Makefile's (`pip install` of this project) without the test extras; the base
# matches pyproject's requires-python. See deploy/README.md for compose and Kubernetes.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SLAWATCH_WEB_HOST=0.0.0.0 \
    SLAWATCH_WEB_PORT=6066 \
    SLAWATCH_TOPICS_DIR=/app/topics \
    SLAWATCH_DATA_DIR=/var/lib/slawatch

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY topics ./topics
RUN python -m pip install --upgrade pip \
    && python -m pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/slawatch --create-home slawatch

USER 10001
EXPOSE 6066
# Liveness: /healthz answers 200 while the worker runs (readiness, /readyz, is the orchestrator's).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SLAWATCH_WEB_PORT', '6066'), timeout=4)"]
ENTRYPOINT ["slawatch"]
CMD ["worker"]
