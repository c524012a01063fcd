"""E-mail through pyramid_mailer, joined to the request's transaction: a message leaves only if the change commits.

Development and tests set ``portal.maildir``: messages are written to that local maildir (read them with any mail
client or ``mailbox.Maildir``). Production leaves it empty and configures SMTP with the ``mail.*`` settings.
"""

from __future__ import annotations

from pathlib import Path

from pyramid_mailer.mailer import Mailer
from pyramid_mailer.message import Message

from portal.inputs import clean_text, single_line

FOOTER = "\n\n--\nKennisportaal Onderwijs & Jeugd\nDit bericht is automatisch verstuurd."


def editors_address(settings) -> str:
    """The editors' address: ``mail.default_sender`` without a display name (the sender of all mail)."""
    sender = single_line(settings.get("mail.default_sender") or "kennisportaal@localhost")
    if "<" in sender and sender.endswith(">"):
        sender = sender[sender.rindex("<") + 1:-1].strip()
    return sender


def send_mail(request, recipients: list[str], subject: str, body: str, reply_to: str = "") -> None:
    """Queue a message; headers are always single-line (a title with a line break becomes one line) and the body
    has no control characters. Links in ``body`` come from request.route_url, i.e. from ``portal.base_url``.
    ``reply_to``: the address answers go to (the contact form: the visitor who wrote)."""
    recipients = sorted({single_line(r) for r in recipients if r and single_line(r)})
    if not recipients:
        return
    mailer: Mailer = request.registry["portal.mailer"].bind(transaction_manager=request.tm)
    headers = {"Reply-To": single_line(reply_to)} if single_line(reply_to) else None
    message = Message(subject=single_line(subject), recipients=recipients, body=clean_text(body) + FOOTER,
                      extra_headers=headers)
    if request.registry["portal.mail_to_maildir"]:
        mailer.send_to_queue(message)
    else:
        mailer.send(message)


def includeme(config):
    settings = config.get_settings()
    maildir = (settings.get("portal.maildir") or "").strip()
    sender = settings.get("mail.default_sender") or "kennisportaal@localhost"
    if maildir:
        for sub in ("cur", "new", "tmp"):
            Path(maildir, sub).mkdir(parents=True, exist_ok=True)
        mailer = Mailer(queue_path=maildir, default_sender=sender)
    else:
        smtp = {k: v for k, v in settings.items() if k.startswith("mail.") and k != "mail.queue_path" and v != ""}
        mailer = Mailer.from_settings(smtp, "mail.")
    config.registry["portal.mailer"] = mailer
    config.registry["portal.mail_to_maildir"] = bool(maildir)
