# Slim, non-root image running the same `iub serve` as development.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IUB_ENV=prod \
    IUB_LOG_FORMAT=json \
    MPLCONFIGDIR=/app/var/matplotlib

WORKDIR /app
RUN groupadd --system iub && useradd --system --gid iub --home-dir /app --shell /usr/sbin/nologin iub

COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN pip install -c constraints.txt . && mkdir -p /app/var && chown iub:iub /app/var

USER iub
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"

# Run `iub migrate` as a release step (or an init container) before starting new versions.
ENTRYPOINT ["iub"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
