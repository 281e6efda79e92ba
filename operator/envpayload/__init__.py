"""envpayload: keep Kubernetes Secrets in sync with multi-line .env payloads.

The package is laid out as the pipeline every sync runs (see reconcile.py)::

    fetch/ -> sealing/ -> parse -> validate -> render | apply -> rollout/ -> report/

with the Kopf wiring in ``controller/`` and the command line in ``cli/`` on top. Which
layer may import which is written down once, in the import-linter contracts of
pyproject.toml, and checked by ``make lint``.
"""

__version__ = "0.1.0"
