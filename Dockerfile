# One image for every Comitas service; the command chooses which one runs (docker-compose.yml, deploy/).
#   uvicorn --factory comitas_<service>.main:create_app --host 0.0.0.0 --port <DESIGN port> --no-proxy-headers
#   python -m comitas_shared.migrations comitas_<service> upgrade --url <database URL>
# It holds (and exposes the DESIGN ports of) the services that exist: identity, intake, referral, mla, notifications, portal.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/comitas \
    PATH=/opt/comitas/bin:$PATH

WORKDIR /app
RUN python -m venv /opt/comitas

# The pinned dependencies first: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
# Not editable: the packages (migrations and data files included) are copied into the venv.
RUN pip install --no-deps . \
    && python -c "import comitas_shared.app, comitas_identity.main, comitas_intake.main, comitas_referral.main, comitas_mla.main, comitas_notifications.main, comitas_portal.main"

RUN useradd --system --uid 10001 --no-create-home comitas
USER 10001

EXPOSE 8000 8001 8002 8003 8004 8080
CMD ["python", "-c", "print('Comitas image: run a service, e.g. uvicorn --factory comitas_intake.main:create_app --host 0.0.0.0 --port 8001')"]
