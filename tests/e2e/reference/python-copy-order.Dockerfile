FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 NOTES_OWNER=ops-team

RUN useradd --create-home --uid 10001 appuser
WORKDIR /home/appuser/app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

USER appuser
EXPOSE 8080
CMD ["waitress-serve", "--port=8080", "notes.app:app"]
