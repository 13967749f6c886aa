# sutrace: a slim two-stage image. The build stage compiles wheels; the runtime stage holds only
# the virtualenv and the code, runs as an unprivileged user, migrates, then serves api.main:app.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /venv
COPY pyproject.toml README.md ./
COPY api ./api
COPY models ./models
COPY services ./services
COPY validation ./validation
COPY web ./web
RUN /venv/bin/pip install --no-cache-dir '.[png]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 sutrace
WORKDIR /app
COPY --from=build /venv /venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY api ./api
COPY models ./models
COPY services ./services
COPY validation ./validation
COPY web ./web
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/sutrace.db
RUN mkdir /data && chown sutrace /data
USER sutrace
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["sh", "-c", "alembic upgrade head && exec uvicorn api.main:app --host 0.0.0.0 --port 8000 --workers ${WEB_WORKERS:-2} --proxy-headers --no-access-log"]
