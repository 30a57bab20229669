# Recurra: one image for the web app and the arq worker. Not built in CI (no Docker engine there).
#   web:     docker run -p 8000:8000 --env-file .env recurra
#   worker:  docker run --env-file .env recurra python -m app worker
#   migrate: docker run --env-file .env recurra python -m app migrate

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml ./
# Dependencies only: the code itself runs from /app, where templates and migrations sit beside it.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" \
      > requirements.txt \
 && /opt/venv/bin/pip install -r requirements.txt

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RECURRA_ENV=production \
    VAR_DIR=/var/lib/recurra \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=4
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin recurra \
 && mkdir -p /var/lib/recurra && chown recurra /var/lib/recurra
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root app ./app
COPY --chown=root:root tables ./tables
COPY --chown=root:root tasks ./tasks
COPY --chown=root:root portal_templates ./portal_templates
COPY --chown=root:root piccolo_conf.py ./
USER recurra
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health/live', timeout=2)"
# WEB_CONCURRENCY web processes with uvicorn's options from app/server.py (they need REDIS_URL).
CMD ["python", "-m", "app", "serve"]
