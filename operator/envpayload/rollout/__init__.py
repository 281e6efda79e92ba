"""Step 7 of the pipeline: restart the workloads that consume changed keys, and only those.

After the Secret is applied, the Deployments, StatefulSets and DaemonSets whose pods
read a key that changed restart; nothing else does. The decision is made from content,
with keyed fingerprints written on the workloads, so the same content reconciled again,
an operator restart or a leader change restart nothing, and a crash between writing the
Secret and restarting restarts each consumer exactly once when the operator is back.
``docs/rollouts.md`` tells the whole story for users.

Pure modules (no API calls, tested without a cluster):

- ``consumers``: which keys of which Secrets a pod template reads;
- ``workloads``: the workload model, and which workloads an EnvPayload rolls;
- ``markers``: the annotations, their fingerprints, and how a restart is written;
- ``plan``: the decision for each consumer;
- ``health``: whether a restarted workload is available again;
- ``summary``: results, ``status.rollouts`` and the ``RolledOut`` condition;
- ``coordinator``: merges and paces restarts of one workload (asyncio, no API client).

Adapters: ``cluster`` (the Kubernetes calls), ``planner`` (planning inside a sync) and
``runner`` (carrying a plan out on the event loop: strategies, waits, rollback).
"""
