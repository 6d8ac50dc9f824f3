"""A small IMAP4rev1 server on localhost: the subset the poller speaks.

CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH (RFC822 or BODY.PEEK[]),
UID STORE +FLAGS (\\Seen) and LOGOUT, over a real socket, so that the poller is
tested with imaplib as it talks to a real server.
"""

import re
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class FakeMailbox:
    user: str = "replies@acme.example"
    password: str = "s3cret pass"
    folder: str = "INBOX"
    mails: list[StoredMail] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def add(self, raw: bytes, *, seen: bool = False) -> StoredMail:
        mail = StoredMail(uid=100 + len(self.mails), raw=raw)
        if seen:
            mail.flags.add("\\Seen")
        self.mails.append(mail)
        return mail

    def by_uid(self, uid: int) -> tuple[int, StoredMail] | None:
        for sequence, mail in enumerate(self.mails, start=1):
            if mail.uid == uid:
                return sequence, mail
        return None


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        mailbox: FakeMailbox = self.server.mailbox
        self._send(b"* OK fake IMAP4rev1 ready")
        authenticated = selected = False
        while line := self.rfile.readline():
            tag, command, args = self._split(line.decode().rstrip("\r\n"))
            mailbox.commands.append(f"{command} {args}".strip())
            if command == "CAPABILITY":
                self._send(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self._ok(tag)
            elif command == "LOGIN":
                user, password = _arguments(args)
                authenticated = (user, password) == (mailbox.user, mailbox.password)
                if authenticated:
                    self._ok(tag)
                else:
                    self._send(f"{tag} NO [AUTHENTICATIONFAILED] wrong".encode())
            elif command == "SELECT" and authenticated:
                selected = _arguments(args)[0] == mailbox.folder
                if not selected:
                    self._send(f"{tag} NO no such folder".encode())
                    continue
                self._send(f"* {len(mailbox.mails)} EXISTS".encode())
                self._send(b"* OK [UIDVALIDITY 7] UIDs valid")
                self._send(f"{tag} OK [READ-WRITE] SELECT completed".encode())
            elif command == "UID" and selected:
                self._uid(tag, args, mailbox)
            elif command == "LOGOUT":
                self._send(b"* BYE logging out")
                self._ok(tag)
                return
            else:
                self._send(f"{tag} BAD {command} not supported here".encode())

    def _uid(self, tag: str, args: str, mailbox: FakeMailbox):
        verb, _, rest = args.partition(" ")
        verb = verb.upper()
        if verb == "SEARCH" and rest.upper() == "UNSEEN":
            uids = [str(m.uid) for m in mailbox.mails if "\\Seen" not in m.flags]
            self._send(" ".join(["* SEARCH", *uids]).encode())
            return self._ok(tag)
        uid_text, _, item = rest.partition(" ")
        found = mailbox.by_uid(int(uid_text))
        if found is None:
            return self._ok(tag)
        sequence, mail = found
        if verb == "FETCH" and item.upper() in ("(RFC822)", "(BODY.PEEK[])"):
            name = "RFC822" if "RFC822" in item.upper() else "BODY[]"
            if name == "RFC822":
                mail.flags.add("\\Seen")
            head = f"* {sequence} FETCH (UID {mail.uid} {name} {{{len(mail.raw)}}}"
            self.wfile.write(head.encode() + b"\r\n" + mail.raw + b")\r\n")
            return self._ok(tag)
        if verb == "STORE" and item.upper() == "+FLAGS (\\SEEN)":
            mail.flags.add("\\Seen")
            flags = " ".join(sorted(mail.flags))
            self._send(f"* {sequence} FETCH (UID {mail.uid} FLAGS ({flags}))".encode())
            return self._ok(tag)
        self._send(f"{tag} BAD UID {verb} not supported here".encode())
        return None

    @staticmethod
    def _split(line: str) -> tuple[str, str, str]:
        tag, _, rest = line.partition(" ")
        command, _, args = rest.partition(" ")
        return tag, command.upper(), args

    def _send(self, data: bytes):
        self.wfile.write(data + b"\r\n")

    def _ok(self, tag: str):
        self._send(f"{tag} OK done".encode())


def _arguments(args: str) -> list[str]:
    """Atoms and quoted strings, as imaplib sends LOGIN and SELECT arguments."""
    return [
        quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted else atom
        for quoted, atom in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', args)
    ]


class FakeImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mailbox: FakeMailbox):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mailbox = mailbox
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
