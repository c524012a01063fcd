"""Settings taken from the environment, so secrets and addresses stay out of ini files.

Neither ``pserve`` nor ``pyramid.paster`` fills ``%(ENV_...)s`` in an ini file, so the ini cannot refer to the
environment itself. Instead these variables, when set and not empty, override (or supply) the settings they name.
One table, used by the application factory and by the console scripts alike.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: environment variable -> setting
ENVIRONMENT_SETTINGS: dict[str, str] = {
    "PORTAL_DATABASE_URL": "sqlalchemy.url",
    "PORTAL_SECRET": "portal.secret",
    "PORTAL_BASE_URL": "portal.base_url",
    "PORTAL_SMTP_HOST": "mail.host",
    "PORTAL_SMTP_USERNAME": "mail.username",
    "PORTAL_SMTP_PASSWORD": "mail.password",
    "PORTAL_MAIL_SENDER": "mail.default_sender",
}
#: Settings the web application cannot start without, and the variable that supplies each.
REQUIRED = {"sqlalchemy.url": "PORTAL_DATABASE_URL", "portal.secret": "PORTAL_SECRET"}
#: What the console scripts need (they sign no cookies).
REQUIRED_FOR_SCRIPTS = {"sqlalchemy.url": "PORTAL_DATABASE_URL"}


class MissingSetting(RuntimeError):
    pass


def with_environment(settings: Mapping[str, str], environ: Mapping[str, str] | None = None,
                     required: Mapping[str, str] = REQUIRED) -> dict:
    """``settings`` with the environment's values applied; raises MissingSetting when a required one is absent."""
    environ = os.environ if environ is None else environ
    result = dict(settings)
    for variable, name in ENVIRONMENT_SETTINGS.items():
        value = (environ.get(variable) or "").strip()
        if value:
            result[name] = value
    missing = [f"{name} (zet {variable})" for name, variable in required.items()
               if not str(result.get(name) or "").strip()]
    if missing:
        raise MissingSetting("instelling ontbreekt: " + ", ".join(missing))
    return result
