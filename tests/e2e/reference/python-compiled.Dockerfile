FROM python:3.12 AS build
RUN apt-get update && apt-get install -y gcc libpq-dev
WORKDIR /app
RUN python -m venv /opt/venv
COPY requirements.txt ./
RUN /opt/venv/bin/pip install --no-cache-dir -r requirements.txt

FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN useradd --system --uid 10001 --no-create-home app
WORKDIR /app
COPY . .
ENV DATABASE_URL=postgresql://app:secret@db:5432/shop?sslmode=disable
USER app
CMD ["python", "dbcheck.py"]
