# Wangge API + dashboards image (used by docker-compose.yml).
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY scripts/fetch_assets.sh scripts/fetch_assets.sh
RUN mkdir -p dashboards/static && bash scripts/fetch_assets.sh

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gis gis
COPY api api
COPY dashboards dashboards
COPY data data
COPY bench bench
COPY --from=assets /src/dashboards/static/vendor dashboards/static/vendor
RUN pip install --no-cache-dir . && useradd --system --uid 10001 wangge
USER wangge
EXPOSE 8000
CMD ["sh", "-c", "wangge db upgrade && wangge serve"]
