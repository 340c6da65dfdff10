# brandpulse image for docker-compose.yml (PostgreSQL, collector, scoring workers, alert sender, dashboard).
# Not needed for the two README set-up commands. Torch is the CPU build, installed (pinned) before the project;
# the project is installed at the versions in requirements.lock. The bundled model is converted at build time,
# so containers never download anything at run time.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 BRANDPULSE_MODEL__CACHE_DIR=/opt/brandpulse-model
WORKDIR /app
RUN python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml requirements.lock README.md ./
COPY brandpulse ./brandpulse
COPY listener ./listener
COPY sentiment ./sentiment
COPY alerts ./alerts
COPY advocates ./advocates
COPY dashboard ./dashboard
RUN python -m pip install -c requirements.lock . && brandpulse model install
RUN useradd --create-home brandpulse
USER brandpulse
ENTRYPOINT ["brandpulse"]
CMD ["--help"]
