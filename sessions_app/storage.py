"""The documents' storage backends, mapped to Django: every name means the Django database.

Sessions live in the Django database (``DATABASES``), with the cache named by
``SESSIONS_APP["CACHE_ALIAS"]`` in front, whatever storage a caller asks for.
These classes exist so that code written against the reference documents
(``create_session_manager(storage="sqlite")``, ``SessionManager(storage=...)``,
``StorageFactory.create("memory")``) runs unchanged; their options (``db_path``,
``pool_size``…) are accepted and have no effect: Django's settings decide.
"""

from __future__ import annotations

from typing import Any, ClassVar

from asgiref.sync import sync_to_async

from sessions_app.exceptions import ConfigurationError
from sessions_app.services import health


class ISessionStorage:
    """A storage backend of the documents; here always the Django database."""

    backend: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: the Django database>"

    async def health_check(self) -> dict[str, Any]:
        """The app's health report (database, cache, broker, providers)."""
        return await sync_to_async(health.health_check)()

    async def close(self) -> None:
        """Nothing to release: Django opens and closes its database connections itself."""


class InMemorySessionStorage(ISessionStorage):
    """The documents' in-memory storage; ``max_sessions`` is accepted, and ignored."""

    backend = "memory"

    def __init__(self, max_sessions: int = 1000, **options: Any) -> None:
        super().__init__(max_sessions=max_sessions, **options)


class SQLiteSessionStorage(ISessionStorage):
    """The documents' SQLite storage; its file and pool options are Django's ``DATABASES``."""

    backend = "sqlite"

    def __init__(
        self,
        db_path: str = "sessions.db",
        pool_size: int = 10,
        max_overflow: int = 20,
        pool_timeout: int = 30,
        enable_wal: bool = True,
        auto_vacuum: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(
            db_path=db_path,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            enable_wal=enable_wal,
            auto_vacuum=auto_vacuum,
            **options,
        )


_BACKENDS: dict[str, type[ISessionStorage]] = {
    InMemorySessionStorage.backend: InMemorySessionStorage,
    SQLiteSessionStorage.backend: SQLiteSessionStorage,
}


class StorageFactory:
    """Builds the documents' storage objects by name."""

    @staticmethod
    def create(backend: str, config: dict[str, Any] | None = None) -> ISessionStorage:
        try:
            storage_class = _BACKENDS[backend]
        except (KeyError, TypeError):
            raise ConfigurationError(
                f"Unknown storage backend {backend!r}; known: {', '.join(sorted(_BACKENDS))}."
            ) from None
        if config is not None and not isinstance(config, dict):
            raise ConfigurationError("storage config must be a dict.")
        return storage_class(**(config or {}))

    @staticmethod
    def register_backend(
        name: str, backend_class: type, config_schema: dict[str, Any] | None = None
    ) -> None:
        """Name another storage class; it too stands for the Django database."""
        if not (isinstance(backend_class, type) and issubclass(backend_class, ISessionStorage)):
            raise ConfigurationError("A storage backend must subclass ISessionStorage.")
        _BACKENDS[name] = backend_class

    @staticmethod
    def list_backends() -> list[str]:
        return sorted(_BACKENDS)


def resolve_storage(
    storage: str | ISessionStorage | None, config: dict[str, Any] | None = None
) -> ISessionStorage | None:
    """A storage object from a name or an object, refusing anything else."""
    if storage is None or isinstance(storage, ISessionStorage):
        return storage
    return StorageFactory.create(storage, config)
