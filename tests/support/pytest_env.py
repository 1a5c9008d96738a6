"""Loaded with `-p` before pytest-django reads the settings: the test services' defaults.

Tests run against the real PostgreSQL and Redis on 127.0.0.1 (see run-tests.sh); Redis
database 15 keeps them away from a development instance on database 0.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/devicevault")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.pop("DEVICEVAULT_CONFIG", None)
os.environ.pop("DEVICEVAULT_DISPLAY_TIMEZONE", None)
