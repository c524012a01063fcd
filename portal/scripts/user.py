"""portal-user <ini> add|set-role|disable|enable|reset-password: manage accounts from the command line."""

from __future__ import annotations

import sys

from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.models import Role, User
from portal.content.files import EMAIL_RE
from portal.environment import MissingSetting
from portal.scripts.common import fail, load_settings, parser, unit_of_work


def _read_password(args) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return None


def build_parser():
    p = parser("portal-user", "Beheert accounts: toevoegen, rol wijzigen, uitschakelen, wachtwoord opnieuw instellen.")
    sub = p.add_subparsers(dest="command", required=True, metavar="opdracht")
    add = sub.add_parser("add", help="een account toevoegen")
    add.add_argument("email")
    add.add_argument("--name", required=True, help="volledige naam")
    add.add_argument("--role", default=Role.CONTRIBUTOR, help=f"rol: {', '.join(Role.ALL)}")
    add.add_argument("--organisation", default="")
    add.add_argument("--password-stdin", action="store_true", help="lees het wachtwoord van stdin")
    role = sub.add_parser("set-role", help="de rol van een account wijzigen")
    role.add_argument("email")
    role.add_argument("role", help=f"rol: {', '.join(Role.ALL)}")
    for name, text in (("disable", "een account uitschakelen"), ("enable", "een account weer activeren")):
        sub.add_parser(name, help=text).add_argument("email")
    reset = sub.add_parser("reset-password", help="een nieuw wachtwoord instellen")
    reset.add_argument("email")
    reset.add_argument("--password-stdin", action="store_true", help="lees het wachtwoord van stdin")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config_uri)
    except (FileNotFoundError, MissingSetting) as exc:
        return fail(str(exc), 2)
    email = args.email.strip().lower()
    if not EMAIL_RE.match(email):
        return fail(f"ongeldig e-mailadres {args.email!r}", 2)
    try:
        with unit_of_work(settings) as dbsession:
            if args.command == "add":
                password = _read_password(args)
                generated = password is None
                if generated:
                    password = accounts.generate_password()
                problem = accounts.check_password_strength(password, email)
                if problem:
                    return fail(problem, 2)
                accounts.create_user(dbsession, email, args.name, args.role, accounts.hash_password(password),
                                     args.organisation)
                print(f"Account {email} aangemaakt met rol {args.role}.")
                if generated:
                    print(f"Tijdelijk wachtwoord: {password}")
                return 0
            user = dbsession.scalar(select(User).where(User.email == email))
            if user is None:
                raise accounts.AccountError(f"geen account met e-mailadres {email}")
            if args.command == "set-role":
                accounts.set_role(user, args.role)
                print(f"Rol van {email} is nu {user.role}.")
            elif args.command in ("disable", "enable"):
                accounts.set_active(user, args.command == "enable")
                print(f"Account {email} is {'actief' if user.active else 'uitgeschakeld'}.")
            else:
                password = _read_password(args)
                generated = password is None
                if generated:
                    password = accounts.generate_password()
                accounts.set_password(user, password)
                print(f"Wachtwoord van {email} is opnieuw ingesteld; lopende sessies zijn beëindigd.")
                if generated:
                    print(f"Tijdelijk wachtwoord: {password}")
    except accounts.AccountError as exc:
        return fail(exc.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
