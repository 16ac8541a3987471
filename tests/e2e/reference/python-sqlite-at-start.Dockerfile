FROM python:3.12 AS build
WORKDIR /app
COPY requirements.txt ./
RUN python3 -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
RUN pip install -r requirements.txt

FROM python:3.12-slim
ENV PATH="/opt/venv/bin:$PATH"
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --no-create-home app
# The app creates notes.db in its WORKDIR when it starts: the user owns that directory.
COPY --chown=10001:10001 . /app
WORKDIR /app
EXPOSE 8000
USER 10001:10001
CMD ["python3", "notes.py"]
