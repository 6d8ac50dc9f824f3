"""The IMAP poller against a fake server on a real socket, through imaplib."""

from email.message import EmailMessage
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from replies.imap import Mailbox, MailboxError, poll_mailbox
from replies.models import Reply

from .fake_imap import FakeImapServer, FakeMailbox

pytestmark = pytest.mark.django_db


def mail(message_id: str, text: str, sender="alice@example.com") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "replies@acme.example"
    message["Subject"] = "Re: Zahlungserinnerung R-2025-0042"
    message["Message-ID"] = message_id
    message["Date"] = "Wed, 12 Mar 2025 09:30:00 +0100"
    message.set_content(text)
    return message.as_bytes()


@pytest.fixture
def mailbox():
    box = FakeMailbox()
    box.add(mail("<one@mail.example>", "Ich habe die Rechnung schon bezahlt."))
    box.add(mail("<two@mail.example>", "Bin umgezogen: Neue Str. 3, 10115 Berlin"))
    box.add(mail("<old@mail.example>", "Read long ago."), seen=True)
    return box


@pytest.fixture
def server(mailbox):
    with FakeImapServer(mailbox) as running:
        yield running


def settings_for(server, mailbox) -> Mailbox:
    return Mailbox(
        host="127.0.0.1",
        port=server.port,
        user=mailbox.user,
        password=mailbox.password,
        folder=mailbox.folder,
        ssl=False,
        timeout=5,
    )


def test_unseen_mail_becomes_replies_and_is_marked_seen(server, mailbox, case):
    counts = poll_mailbox(settings_for(server, mailbox))

    assert counts == {"fetched": 2, "stored": 2, "duplicates": 0, "failed": 0}
    paid = Reply.objects.get(provider_message_id="<one@mail.example>")
    assert (paid.provider, paid.channel) == ("imap", "email")
    assert paid.intent == Reply.Intent.ALREADY_PAID
    assert list(paid.cases.all()) == [case]
    assert all("\\Seen" in m.flags for m in mailbox.mails)
    assert "UID SEARCH UNSEEN" in mailbox.commands
    assert "UID FETCH 100 (BODY.PEEK[])" in mailbox.commands
    assert "UID STORE 100 +FLAGS (\\Seen)" in mailbox.commands
    assert mailbox.commands[-1] == "LOGOUT"


def test_a_second_poll_finds_nothing_new(server, mailbox, case):
    poll_mailbox(settings_for(server, mailbox))

    counts = poll_mailbox(settings_for(server, mailbox))

    assert counts == {"fetched": 0, "stored": 0, "duplicates": 0, "failed": 0}
    assert Reply.objects.count() == 2


def test_mail_unseen_again_is_not_stored_twice(server, mailbox, case):
    """Marked unread by someone, or flagged by a poll that died: same Message-ID."""
    poll_mailbox(settings_for(server, mailbox))
    for stored in mailbox.mails:
        stored.flags.clear()

    counts = poll_mailbox(settings_for(server, mailbox))

    assert counts == {"fetched": 3, "stored": 1, "duplicates": 2, "failed": 0}
    assert Reply.objects.count() == 3


def test_the_command_reads_the_mailbox_from_settings(server, mailbox, case, settings):
    settings.REPLIES_IMAP_HOST = "127.0.0.1"
    settings.REPLIES_IMAP_PORT = server.port
    settings.REPLIES_IMAP_USER = mailbox.user
    settings.REPLIES_IMAP_PASSWORD = mailbox.password
    settings.REPLIES_IMAP_SSL = False
    out = StringIO()

    call_command("poll_replies", stdout=out)

    assert out.getvalue().strip() == "2 fetched, 2 stored, 0 duplicates, 0 failed"


def test_a_wrong_password_is_reported(server, mailbox, settings):
    settings.REPLIES_IMAP_HOST = "127.0.0.1"
    settings.REPLIES_IMAP_PORT = server.port
    settings.REPLIES_IMAP_USER = mailbox.user
    settings.REPLIES_IMAP_PASSWORD = "wrong"
    settings.REPLIES_IMAP_SSL = False

    with pytest.raises(CommandError, match="AUTHENTICATIONFAILED"):
        call_command("poll_replies")
    assert not Reply.objects.exists()


def test_an_unknown_folder_is_refused(server, mailbox):
    box = settings_for(server, mailbox)

    with pytest.raises(MailboxError, match="SELECT"):
        poll_mailbox(Mailbox(**{**box.__dict__, "folder": "Archive"}))
