"""The values every settings module reads: where the project and its data live, whether the test
suite is running (it then points the database and Redis at the test services first), and the
site's public address."""

import sys
from pathlib import Path

from config.env import env, envbool

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env("CLOSELOOP_VAR_DIR", str(BASE_DIR / "var")))
TESTING = "pytest" in sys.modules or envbool("CLOSELOOP_TESTING", False)

if TESTING:
    from config import testenv

    testenv.configure()

SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
