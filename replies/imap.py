"""The IMAP poller: unseen messages of a plain mailbox become replies.

A message is fetched with BODY.PEEK[], which leaves it unseen, and flagged
\\Seen only after its reply is stored: a poll that dies half way leaves the
rest for the next one, and a message stored but not flagged is stored once
more as a no-op (replies are unique by Message-ID).
"""

import imaplib
import logging
from dataclasses import dataclass

from replies.inbound import email_inbound
from replies.services import reply_receive

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True
    timeout: int = 60


class MailboxError(Exception):
    """The server refused a command."""


def _ok(response, what: str):
    status, data = response
    if status != "OK":
        raise MailboxError(f"{what}: {status} {data!r}")
    return data


def _message_bytes(data) -> bytes | None:
    # imaplib returns [(b'1 (UID 7 BODY[] {123}', b'<message>'), b')'].
    for part in data:
        if isinstance(part, tuple) and len(part) == 2:
            return part[1]
    return None


def poll_mailbox(mailbox: Mailbox) -> dict[str, int]:
    """Store the unseen messages; returns counts of what happened."""
    counts = {"fetched": 0, "stored": 0, "duplicates": 0, "failed": 0}
    client_class = imaplib.IMAP4_SSL if mailbox.ssl else imaplib.IMAP4
    client = client_class(mailbox.host, mailbox.port, timeout=mailbox.timeout)
    try:
        _session(client, mailbox, counts)
    except imaplib.IMAP4.error as error:
        # imaplib raises on NO and BAD answers itself (a wrong password).
        raise MailboxError(str(error)) from None
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            logger.warning("imap logout failed", exc_info=True)
    logger.info("imap poll: %s", counts)
    return counts


def _session(client, mailbox: Mailbox, counts: dict[str, int]) -> None:
    """Log in, then store and flag each unseen message in turn."""
    _ok(client.login(mailbox.user, mailbox.password), "LOGIN")
    _ok(client.select(_quoted(mailbox.folder)), "SELECT")
    uids = _ok(client.uid("SEARCH", "UNSEEN"), "SEARCH")[0].split()
    for uid in uids:
        raw = _message_bytes(_ok(client.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH"))
        if raw is None:
            continue
        counts["fetched"] += 1
        try:
            _reply, created = reply_receive(inbound=email_inbound(raw, provider="imap"))
        except Exception:
            # Left unseen: the next poll tries again, the log says why.
            logger.exception("imap message uid %s could not be stored", uid)
            counts["failed"] += 1
            continue
        counts["stored" if created else "duplicates"] += 1
        _ok(client.uid("STORE", uid, "+FLAGS", "(\\Seen)"), "STORE")


def _quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string ("Sent Items", "Antworten")."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
