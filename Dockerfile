# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY . .
RUN pip install --quiet -e . \
 && DEBUG=true SECRET_KEY=build-only python manage.py collectstatic --noinput \
 && useradd --create-home closeloop && mkdir -p /app/var && chown closeloop /app/var
USER closeloop
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"]
