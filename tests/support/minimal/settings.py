"""A minimal project that knows nothing of ``project/``: the app must work here alone."""

import os

SECRET_KEY = "minimal-test-settings"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "sessions_app",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["MINIMAL_DB"],
    }
}
USE_TZ = True
