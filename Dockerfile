# One image for every app process: `crc migrate`, `crc web` and `crc worker` (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 crc

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY crc ./crc
COPY workflows ./workflows
COPY activities ./activities
COPY web ./web
COPY migrations ./migrations
COPY cli.py worker.py ./
RUN pip install --no-deps . && mkdir -p /app/var && chown crc:crc /app/var

USER crc
ENV CRC_ENV=production \
    CRC_DATA_DIR=/app/var \
    CRC_WEB_HOST=0.0.0.0 \
    CRC_WEB_PORT=8000
EXPOSE 8000
CMD ["crc", "web"]
