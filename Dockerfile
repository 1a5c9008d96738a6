# DeviceVault image: the Vue front end built with Node 20, then Django, Celery and Flower on
# Python 3.11, running as an unprivileged user. compose.yaml builds it (`docker-compose build`);
# by hand: docker build -t devicevault .

# --- stage 1: the front end (frontend/dist) -------------------------------------------------
FROM node:20 AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build

# --- stage 2: the application -------------------------------------------------------------
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=project.settings \
    DEVICEVAULT_VAR_DIR=/var/lib/devicevault
WORKDIR /app

RUN groupadd --system --gid 10001 devicevault \
 && useradd --system --uid 10001 --gid devicevault --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin devicevault

# The pinned dependencies of pyproject.toml (the project itself installs no package: the
# code runs from /app). Copied alone first so code changes reuse this layer.
COPY pyproject.toml ./
RUN pip install .

# Code and config stay root-owned (read-only to the app); only the var directory is its own.
COPY . .
COPY --from=frontend /src/frontend/dist ./frontend/dist
RUN mkdir -p "$DEVICEVAULT_VAR_DIR" \
 && DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput -v 0 \
 && chown -R devicevault:devicevault "$DEVICEVAULT_VAR_DIR"

USER devicevault
EXPOSE 8000 5555
# compose.yaml gives each service its own command; this one serves the web alone.
CMD ["gunicorn", "project.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
