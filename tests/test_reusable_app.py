"""The app works in any Django project, and its migrations match its models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def test_runs_in_a_minimal_project_with_defaults(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.support.minimal.settings",
        "MINIMAL_DB": str(tmp_path / "db.sqlite3"),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/support/minimal/scenario.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("Mock response to: hello 2")


def test_no_missing_migrations(db):
    call_command("makemigrations", "sessions_app", "--check", "--dry-run", verbosity=0)
