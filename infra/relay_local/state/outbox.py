"""The local stack's outbox: the emails AWS would send, as files a mail client opens.

A user pool sends people verification codes, password-reset codes and
invitations. Locally each is an RFC 5322 message in `<state-dir>/outbox/`
(`.eml`: double-click opens it in a mail client) and one line of `relay run`'s
output naming the recipient, the first line of the text and the file. The files
stay across restarts, like the rest of the state dir; nothing is ever sent.
"""

from __future__ import annotations

import email.utils
import os
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from relay_local import ids


class Outbox:
    def __init__(self, folder: Path, report: Callable[[str], None]) -> None:
        self.folder = folder
        self.report = report

    def send(self, sender: str, to: str, subject: str, text: str, kind: str) -> Path:
        """Write the message atomically and say so; returns its path."""
        now = time.time()
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = email.utils.formatdate(now, usegmt=True)
        message["Message-ID"] = f"<{ids.hex_id(24)}@relay.local>"
        message["X-Relay-Kind"] = kind
        message.set_content(text)
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
        name = f"{stamp}-{int(now * 1000) % 1000:03d}-{_safe(to)}-{kind}.eml"
        path = self.folder / name
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(message.as_bytes())
        os.replace(temporary, path)
        first_line = text.strip().splitlines()[0] if text.strip() else subject
        self.report(f"[relay] email to {to}: {first_line} ({path})")
        return path


def _safe(address: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", address)[:80] or "recipient"
