"""The running operator: Kopf handlers, one sync loop per EnvPayload, and what they share."""
