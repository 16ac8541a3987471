FROM python:3.12 AS build
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir --prefix=/install -r requirements.txt

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SHELF_NAME=main-library
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --no-create-home app
WORKDIR /app
COPY . .
EXPOSE 8000
USER app
CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]
