"""``make demo``: see the operator do its whole job on the local control plane."""
