"""GPTCache pip-installs missing optional packages at run time. Deskmate never lets it.

`forbid_runtime_installs()` replaces GPTCache's installer with one that raises a clear ConfigError, and
`check_backends(settings)` names any package the configured stores need before anything is opened.
Every package the default stores need (sqlalchemy, faiss-cpu) is declared in pyproject.toml.
"""

from __future__ import annotations

import importlib.util

from core.cache.settings import SCALAR_DRIVERS, VECTOR_DRIVERS, CacheSettings
from core.errors import ConfigError

PACKAGES = {"faiss": "faiss-cpu", "psycopg2": "psycopg2-binary", "sqlalchemy": "sqlalchemy", "pymilvus": "pymilvus",
            "pymysql": "pymysql"}


def _refuse_install(package: str, warn: bool = False) -> None:
    raise ConfigError(
        f"the semantic cache needs the Python package {package!r}, which is not installed; "
        f"install it with the deployment (Deskmate never installs packages at run time)"
    )


def forbid_runtime_installs() -> None:
    """Make GPTCache's `prompt_install` raise instead of running `pip install` (idempotent)."""
    import gptcache.utils
    import gptcache.utils.dependency_control

    gptcache.utils.dependency_control.prompt_install = _refuse_install
    gptcache.utils.prompt_install = _refuse_install  # `_check_library` looks it up here


def check_backends(settings: CacheSettings) -> None:
    """Raise ConfigError naming every missing package the configured stores need."""
    needed = [*SCALAR_DRIVERS[settings.scalar_store], *VECTOR_DRIVERS[settings.vector_store]]
    missing = sorted({PACKAGES.get(m, m) for m in needed if importlib.util.find_spec(m) is None})
    if missing:
        raise ConfigError(
            f"DESKMATE_CACHE__SCALAR_STORE={settings.scalar_store} / DESKMATE_CACHE__VECTOR_STORE="
            f"{settings.vector_store} need these packages installed: {', '.join(missing)}"
        )
    if settings.scalar_store != "sqlite" and not settings.scalar_url:
        raise ConfigError(f"DESKMATE_CACHE__SCALAR_URL is required with DESKMATE_CACHE__SCALAR_STORE="
                          f"{settings.scalar_store}")
