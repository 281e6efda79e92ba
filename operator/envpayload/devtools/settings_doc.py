"""``python -m envpayload.devtools.settings_doc > docs/settings.md``: the settings table.

``tests/unit/test_settings.py`` fails when docs/settings.md differs from what this prints.
"""

from __future__ import annotations

from envpayload.settings import settings_markdown

if __name__ == "__main__":
    print(settings_markdown(), end="")
