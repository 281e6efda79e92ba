"""The GitHub API as envpayload uses it: one client for the operator and the command line.

PyGithub does the HTTP, the authentication (a token, or a GitHub App's installation
tokens, renewed before they expire) and the sealing of Actions secrets. This package adds
what an operator needs around it and PyGithub leaves to its callers:

- ``client``: raw file contents with conditional requests (an unchanged file costs no
  primary rate limit), the last commit of a file, and every answer mapped to a clear
  :mod:`envpayload.errors` error that names the status and GitHub's reason;
- ``limits``: how long GitHub asks us to wait (rate-limit headers, ``Retry-After``), as a
  pure function, and the cap on every wait;
- ``credentials``: a token or a GitHub App read from a Secret's keys, never printable;
- ``actions``: Actions secrets and permissions for ``envpayload github``;
- ``metrics``: remaining rate limit, requests by result, webhook deliveries by result,
  behind a small protocol so an operator-wide metrics object can take them.

NB: at DEBUG level PyGithub logs whole response bodies, file contents included. The
``github`` logger is kept at INFO by :func:`envpayload.cli.common.quiet_chatty_loggers`,
which the operator and the ``github`` commands call at start.
"""
