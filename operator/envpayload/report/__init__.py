"""Step 8 of the pipeline: tell people what happened.

Status (pure), Kubernetes Events, Prometheus metrics and webhook alerts, each in a module
of its own. Everything here names EnvPayloads, reasons and keys; nothing carries a value.
"""
