"""A small IMAP4rev1 server on loopback for the poller's tests: no maintained pure-Python IMAP
server exists to install, so this speaks just what imap-tools sends (CAPABILITY, LOGIN, SELECT,
UID SEARCH, UID FETCH, UID STORE, EXPUNGE, LOGOUT) over a real socket, and keeps each message's
\\Seen flag so a test can check what the poller marked."""

from __future__ import annotations

import re
import socketserver
import threading


class Mailbox:
    def __init__(self, user: str, password: str, messages: list[bytes]):
        self.user, self.password = user, password
        self.messages = {uid: raw for uid, raw in enumerate(messages, start=1)}
        self.seen: set[int] = set()
        self.commands: list[str] = []


class _Handler(socketserver.StreamRequestHandler):
    def send(self, text: str | bytes) -> None:
        self.wfile.write(text if isinstance(text, bytes) else text.encode())

    def handle(self):
        box: Mailbox = self.server.mailbox
        self.send("* OK IMAP4rev1 stub ready\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            box.commands.append(f"{command} {args}".strip())
            if command == "CAPABILITY":
                self.send(f"* CAPABILITY IMAP4rev1\r\n{tag} OK CAPABILITY completed\r\n")
            elif command == "LOGIN":
                user, password = [a.strip('"') for a in args.split(" ", 1)]
                ok = (user, password) == (box.user, box.password)
                self.send(f"{tag} OK LOGIN completed\r\n" if ok else f"{tag} NO [AUTHENTICATIONFAILED] Invalid\r\n")
            elif command == "SELECT":
                self.send(f"* {len(box.messages)} EXISTS\r\n* FLAGS (\\Seen)\r\n{tag} OK [READ-WRITE] SELECT completed\r\n")
            elif command == "UID":
                self.uid(tag, args, box)
            elif command == "EXPUNGE":
                self.send(f"{tag} OK EXPUNGE completed\r\n")
            elif command == "LOGOUT":
                self.send(f"* BYE logging out\r\n{tag} OK LOGOUT completed\r\n")
                return
            else:
                self.send(f"{tag} OK {command} completed\r\n")

    def uid(self, tag: str, args: str, box: Mailbox) -> None:
        sub, _, rest = args.partition(" ")
        sub = sub.upper()
        if sub == "SEARCH":
            wanted = [uid for uid in box.messages if "UNSEEN" not in rest.upper() or uid not in box.seen]
            self.send(f"* SEARCH {' '.join(map(str, wanted))}\r\n{tag} OK SEARCH completed\r\n")
        elif sub == "FETCH":
            for uid in self._uids(rest.split(" ", 1)[0]):
                raw = box.messages[uid]
                flags = "\\Seen" if uid in box.seen else ""
                self.send(f"* {uid} FETCH (UID {uid} FLAGS ({flags}) RFC822.SIZE {len(raw)} BODY[] {{{len(raw)}}}\r\n")
                self.send(raw)
                self.send(")\r\n")
            self.send(f"{tag} OK FETCH completed\r\n")
        elif sub == "STORE":
            uids, _, change = rest.partition(" ")
            for uid in self._uids(uids):
                if "\\SEEN" in change.upper():
                    (box.seen.add if change.startswith("+") else box.seen.discard)(uid)
                    self.send(f"* {uid} FETCH (UID {uid} FLAGS (\\Seen))\r\n")
            self.send(f"{tag} OK STORE completed\r\n")
        else:
            self.send(f"{tag} BAD unknown UID command\r\n")

    @staticmethod
    def _uids(spec: str) -> list[int]:
        return [int(u) for u in re.findall(r"\d+", spec)]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ImapStub:
    """`with ImapStub(Mailbox(...)) as stub:` serves on 127.0.0.1:stub.port until the block ends."""

    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.mailbox = mailbox
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ImapStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
