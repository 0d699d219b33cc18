FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data
WORKDIR /app
# Graphviz's `dot` draws the process diagrams (chat and panel) and lays out the BPMN export.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends graphviz fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY app app
COPY services services
COPY tgbot tgbot
COPY integrations integrations
COPY handlers handlers
COPY flows flows
COPY db db
COPY scheduler scheduler
COPY sandbox sandbox
COPY admin admin
COPY bench bench
RUN pip install --no-cache-dir .
VOLUME /data
EXPOSE 8080
# BOT_TOKEN and DATABASE_URL come from the environment; migrations run on start.
CMD ["konveyer", "run"]
