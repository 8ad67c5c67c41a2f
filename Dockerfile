# kubehooks hook server: slim, non-root, gunicorn. `docker build .` builds it (the last stage).
# `docker build --target portal .` builds the portal (`kubehooks portal`) instead: the same
# base, its own locked dependencies (requirements-portal.lock: the portal extra's database
# drivers and Kubernetes client, which the hook server's image leaves out).
#
# The base image is pinned by digest, so a rebuild gets the same Python and Debian. This is the
# index (multi-platform) digest published for python:3.11-slim-bookworm on 2026-04-06, as read
# from Docker Hub and quoted in public Dockerfiles. It was NOT checked against the registry when
# it was written here (that machine had no registry access). Check or refresh it with
#   docker buildx imagetools inspect python:3.11-slim-bookworm
# and change BASE only (every stage uses it). tests/test_dockerfile.py checks it stays a digest.
ARG BASE=python:3.11-slim-bookworm@sha256:420310dd2ff7895895f0f1f9d15cae5a95dabceb8f1d6b9a23ef33c2c1c542c3

FROM ${BASE} AS build
WORKDIR /src
RUN python -m venv /opt/kubehooks
ENV PATH=/opt/kubehooks/bin:$PATH
# Every dependency (and the build backend) at its locked version, each file checked against its
# hash; regenerate requirements.lock as its header says when pyproject.toml's dependencies change.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY hooks ./hooks
# The project alone: its dependencies and build backend are the locked ones installed above.
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && pip uninstall --yes setuptools wheel \
    && pip check

FROM ${BASE} AS portal-build
WORKDIR /src
RUN python -m venv /opt/kubehooks
ENV PATH=/opt/kubehooks/bin:$PATH
# As above, from the portal's lock: kubehooks' dependencies and its `portal` extra, hashed.
COPY requirements-portal.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements-portal.lock
COPY pyproject.toml README.md ./
COPY hooks ./hooks
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && pip uninstall --yes setuptools wheel \
    && pip check

FROM ${BASE} AS portal
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/kubehooks/bin:$PATH
# Where the portal listens when its config file names no host or port, and the port the
# HEALTHCHECK probes: set KUBEHOOKS_PORTAL_PORT rather than the file's `port`, so both agree.
# 8099 is the port of the rendered Deployment (deploy/portal.yaml).
ENV KUBEHOOKS_PORTAL_HOST=0.0.0.0 KUBEHOOKS_PORTAL_PORT=8099
COPY --from=portal-build /opt/kubehooks /opt/kubehooks
# The default dataDir (./kubehooks-data, SQLite) is writable here; the Deployment mounts its own.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin kubehooks \
    && install -d -o 10001 -g 10001 /var/lib/kubehooks-portal
WORKDIR /var/lib/kubehooks-portal
USER 10001:10001
EXPOSE 8099
# Plain HTTP first; with `tls:` configured the same probe speaks HTTPS to the same port.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["python", "-c", "import os,ssl,sys,urllib.request as u; p=os.environ.get('KUBEHOOKS_PORTAL_PORT','8099'); c=ssl._create_unverified_context(); ok=lambda s: u.urlopen(s+'://127.0.0.1:'+p+'/healthz', timeout=2, context=c).status == 200\ntry: sys.exit(0 if ok('http') else 1)\nexcept Exception: sys.exit(0 if ok('https') else 1)"]
ENTRYPOINT ["kubehooks", "portal"]

# The hook server: the default target, so it stays last.
FROM ${BASE} AS server
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/kubehooks/bin:$PATH
# KUBEHOOKS_PORT: the port `kubehooks serve` listens on when no --port is given, and the port the
# HEALTHCHECK below probes. Set it (docker run -e KUBEHOOKS_PORT=9000) rather than passing --port,
# so that both agree. 8443 is the port of the shipped Deployment (deploy/server.yaml), which
# serves HTTPS there; without a TLS config the server speaks plain HTTP on the same port.
ENV KUBEHOOKS_PORT=8443
COPY --from=build /opt/kubehooks /opt/kubehooks
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin kubehooks
USER 10001:10001
EXPOSE 8443
# Plain HTTP first; with TLS configured the same probe speaks HTTPS to the same port.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["python", "-c", "import os,ssl,sys,urllib.request as u; p=os.environ.get('KUBEHOOKS_PORT','8443'); c=ssl._create_unverified_context(); ok=lambda s: u.urlopen(s+'://127.0.0.1:'+p+'/healthz', timeout=2, context=c).status == 200\ntry: sys.exit(0 if ok('http') else 1)\nexcept Exception: sys.exit(0 if ok('https') else 1)"]
ENTRYPOINT ["kubehooks"]
CMD ["serve", "--host", "0.0.0.0"]
