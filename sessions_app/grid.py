"""Grid paths: ``grid/{sandbox_id}/{session_id}/{artifact_id}`` keys for artifact stores."""

from __future__ import annotations

GRID_ROOT = "grid"


def artifact_key(sandbox_id: str, session_id: str, artifact_id: str) -> str:
    return f"{GRID_ROOT}/{sandbox_id}/{session_id}/{artifact_id}"


def session_prefix(sandbox_id: str, session_id: str) -> str:
    return f"{GRID_ROOT}/{sandbox_id}/{session_id}/"


def sandbox_prefix(sandbox_id: str) -> str:
    return f"{GRID_ROOT}/{sandbox_id}/"


def parse_key(grid_key: str) -> dict[str, str | None] | None:
    """Split a grid key into its parts; ``None`` when it is not a grid key.

    Anything after the artifact id is returned as ``subpath``.
    """
    parts = grid_key.split("/") if isinstance(grid_key, str) else []
    if len(parts) < 4 or parts[0] != GRID_ROOT or not all(parts[1:4]):
        return None
    return {
        "sandbox_id": parts[1],
        "session_id": parts[2],
        "artifact_id": parts[3],
        "subpath": "/".join(parts[4:]) or None,
    }
