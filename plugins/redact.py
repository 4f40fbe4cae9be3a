"""Keep credentials out of what is shown: metadata, logs, `floe compile`, reprs.

Shared by the platform (config, CLI) and plugins, which must not depend on the platform.
"""

from __future__ import annotations

import re

_SECRET_KEY = re.compile(r"secret|password|token|credential|access-key", re.IGNORECASE)
_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^/@:]*:)(?P<password>[^@/]*)@")


def is_secret_key(key: str) -> bool:
    """Whether a property name (``s3.secret-access-key``, ``token``) holds a credential."""
    return _SECRET_KEY.search(key) is not None


def mask_url_password(url: str) -> str:
    """``postgresql://user:pw@host/db`` -> ``postgresql://user:***@host/db``."""
    return _PASSWORD_IN_URL.sub(lambda m: f"{m.group('head')}***@", url)
