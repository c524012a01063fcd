"""production.ini takes its secrets and addresses from the environment (portal.environment), for the application
and the console scripts alike."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from portal.environment import MissingSetting, with_environment

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_environment_overrides_and_supplies_settings():
    settings = with_environment({"sqlalchemy.url": "sqlite://", "portal.secret": "uit-het-ini"},
                                {"PORTAL_SECRET": "uit-de-omgeving", "PORTAL_BASE_URL": "https://kp.example.nl",
                                 "PORTAL_MAIL_SENDER": " ", "UNRELATED": "x"})
    assert settings["portal.secret"] == "uit-de-omgeving"
    assert settings["portal.base_url"] == "https://kp.example.nl"
    assert "mail.default_sender" not in settings  # empty values do not count
    assert "UNRELATED" not in settings


def test_missing_required_setting_names_the_variable():
    with pytest.raises(MissingSetting, match="PORTAL_DATABASE_URL"):
        with_environment({"portal.secret": "s"}, {})


def _run(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / command), "production.ini"], cwd=cwd, env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=120)


def test_production_ini_works_with_the_environment_and_says_what_is_missing(tmp_path):
    shutil.copy(ROOT / "production.ini", tmp_path / "production.ini")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    missing = _run("portal-init", tmp_path, clean)
    assert missing.returncode == 2
    assert "PORTAL_DATABASE_URL" in missing.stderr
    assert "Traceback" not in missing.stderr

    env = {**clean, "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}", "PORTAL_SECRET": "s" * 40,
           "PORTAL_BASE_URL": "https://kp.example.nl", "PORTAL_MAIL_SENDER": "redactie@kp.example.nl"}
    done = _run("portal-init", tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "portal.db").is_file()
