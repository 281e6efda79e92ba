# syntax=docker/dockerfile:1
#
# The envpayload operator's image. Two stages: the first installs the package and its
# pinned dependencies into a virtual environment; the second copies only that
# environment onto the same small Python base, without pip or a compiler. The result
# runs as a numeric non-root user and writes nothing to its own file system, so it
# works with `readOnlyRootFilesystem: true` and under the PodSecurity `restricted` profile.
#
#   docker build -t envpayload-operator .
#   docker run --rm envpayload-operator --help
#   docker run --rm -i envpayload-operator validate - < .env.production

# The same base in both stages: the virtual environment points at its interpreter.
# TODO(digest): pin by digest (python:3.11.16-slim-trixie@sha256:...) once the release
# pipeline has resolved it; no registry is reachable where this file was written.
ARG PYTHON_IMAGE=python:3.11.16-slim-trixie

FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/

# Every runtime dependency is pinned exactly in pyproject.toml. The environment is made
# without pip of its own (the base's pip installs into it), so the runtime carries none.
# pip compiles every module it installs: the read-only runtime can never write them.
RUN python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install . \
    && /opt/venv/bin/python -m envpayload --version


FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="envpayload-operator" \
      org.opencontainers.image.description="Turns multi-line .env payloads into Kubernetes Secrets and restarts the workloads that consume changed keys." \
      org.opencontainers.image.licenses="Apache-2.0"

# Nothing installs packages at run time: pip, setuptools and ensurepip's bundled wheels
# leave the runtime (less to attack, less for the scanner to flag). The operator's user
# gets a passwd entry because Kopf asks for the user name when it names itself.
RUN python -m pip uninstall --yes --no-input pip setuptools wheel \
    && rm -rf /usr/local/lib/python3.11/ensurepip \
    && groupadd --system --gid 65532 envpayload \
    && useradd --system --uid 65532 --gid 65532 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin envpayload

COPY --from=build /opt/venv /opt/venv

# PYTHONDONTWRITEBYTECODE: the root file system is read-only in the cluster.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER 65532:65532

# 8080: Kopf's liveness endpoint (/healthz); 9090: Prometheus metrics (/metrics).
EXPOSE 8080 9090

# Kubernetes ignores HEALTHCHECK and probes /healthz itself (see the Helm chart); this
# serves `docker run` and Compose, through the same endpoint.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# `envpayload run` by default; other subcommands (validate, seal, render) by naming them.
ENTRYPOINT ["envpayload"]
CMD ["run", "--all-namespaces"]
