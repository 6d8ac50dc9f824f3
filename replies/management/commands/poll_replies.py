from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from replies.imap import Mailbox, MailboxError, poll_mailbox


class Command(BaseCommand):
    help = "Fetch unseen messages from the replies mailbox (IMAP) and triage them."

    def handle(self, *args, **options):
        if not settings.REPLIES_IMAP_HOST:
            raise CommandError("Set REPLIES_IMAP_HOST (and user, password) first.")
        mailbox = Mailbox(
            host=settings.REPLIES_IMAP_HOST,
            port=settings.REPLIES_IMAP_PORT,
            user=settings.REPLIES_IMAP_USER,
            password=settings.REPLIES_IMAP_PASSWORD,
            folder=settings.REPLIES_IMAP_FOLDER,
            ssl=settings.REPLIES_IMAP_SSL,
        )
        try:
            counts = poll_mailbox(mailbox)
        except (MailboxError, OSError) as error:
            raise CommandError(f"IMAP {mailbox.host}: {error}") from None
        self.stdout.write(", ".join(f"{n} {what}" for what, n in counts.items()))
