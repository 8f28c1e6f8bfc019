# One image for web, ingest, worker and beat (docker-compose.yml picks the command).
# tests/test_production.py replays this file's steps without Docker: keep every RUN step one
# that test knows (it fails on an unknown one), and the settings here the ones the server runs with.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Only the locked runtime dependencies (no test or bench tooling), in a layer of their own so
# that a code change does not reinstall them. docs/deployment.md says how the lock is upgraded.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --quiet -r requirements/runtime.txt
COPY . .
# Production settings from here on, at build time too: collectstatic must write WhiteNoise's
# manifest of hashed names (staticfiles/staticfiles.json) with the storage the server uses. Run
# with DEBUG on, it wrote no manifest and every page was a 500 "Missing staticfiles manifest entry".
ENV DEBUG=false
RUN SECRET_KEY=collectstatic-at-build-time-only-never-used-to-sign-anything python manage.py collectstatic --noinput \
 && useradd --create-home closeloop && mkdir -p /app/var && chown closeloop /app/var
USER closeloop
EXPOSE 8000 8001
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"]
