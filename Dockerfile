# bookplan: the HTTP service. Build: docker build -t bookplan .
# Run:   docker run -p 8000:8000 -v bookplan-data:/app/var bookplan
#        (SQLite in the volume by default; -e DATABASE_URL=postgresql://... for PostgreSQL)

# ---- build: resolve the locked dependencies into a virtualenv with uv
FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, in their own layer, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY solver ./solver
RUN uv sync --frozen --no-dev

# ---- runtime: the virtualenv and the code, run as an unprivileged user
FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 bookplan \
    && useradd --system --uid 10001 --gid bookplan --home-dir /app --no-create-home bookplan
WORKDIR /app
COPY --from=build --chown=bookplan:bookplan /app /app
COPY --chown=bookplan:bookplan fixtures ./fixtures
RUN mkdir -p /app/var && chown bookplan:bookplan /app/var
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
VOLUME ["/app/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["bookplan", "serve", "--host", "0.0.0.0", "--port", "8000"]
