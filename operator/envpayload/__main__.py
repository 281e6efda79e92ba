"""``python -m envpayload``: the same as the ``envpayload`` command."""

import sys

from envpayload.cli import main

sys.exit(main())
