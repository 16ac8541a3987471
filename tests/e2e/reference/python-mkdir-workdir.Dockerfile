FROM python:3.12 AS build
WORKDIR /srv/quotes
COPY requirements.txt ./
RUN python3 -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
RUN pip install -r requirements.txt

FROM python:3.12-slim
ENV PATH="/opt/venv/bin:$PATH"
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --no-create-home app
WORKDIR /srv/quotes
COPY . .
EXPOSE 8000
USER 10001:10001
CMD ["python", "quotes.py"]
