"""E-mail over SMTP: `smtp://host:port` (with `user:password@` when the server wants a login),
upgraded with STARTTLS whenever the server offers it, a text and an HTML part."""

from __future__ import annotations

import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

from tracker.channels.answers import Answer, DeliveryError, excerpt, hidden_values
from tracker.core.notifications.formats import email_html, email_text
from tracker.core.notifications.message import Message
from tracker.settings import ChannelSettings

DEFAULT_PORT = 25
SMTP_OK = 250


def send(channel: ChannelSettings, message: Message, *, timeout: float, now: datetime) -> Answer:
    """Hand the message to the channel's SMTP server for every address in `to`."""
    url = channel.url.get_secret_value()
    hidden = hidden_values(url, channel.secret.get_secret_value())
    parts = urlsplit(url)
    mail = compose(channel, message)
    recipients = [parseaddr(address)[1] or address for address in channel.to]
    try:
        with smtplib.SMTP(
            parts.hostname or "", parts.port or DEFAULT_PORT, timeout=timeout
        ) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif parts.username:
                raise DeliveryError("email: the server offers no STARTTLS; no password sent")
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            refused = smtp.send_message(mail, to_addrs=recipients)
    except DeliveryError:
        raise
    except smtplib.SMTPResponseException as exc:
        said = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise DeliveryError(f"SMTP {exc.smtp_code} from email: {excerpt(said, hidden)}") from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError("email: every recipient was refused") from None
    except TimeoutError:
        raise DeliveryError(f"email: timed out after {timeout:g} s") from None
    except ConnectionRefusedError:
        raise DeliveryError("email: connection refused") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"email: TLS failed ({excerpt(str(exc), hidden)})") from None
    except (OSError, smtplib.SMTPException) as exc:
        reason = excerpt(str(exc), hidden)
        raise DeliveryError(f"email: {type(exc).__name__} ({reason})") from None
    if refused:
        return Answer(SMTP_OK, excerpt(f"refused: {', '.join(sorted(refused))}", hidden))
    return Answer(SMTP_OK, f"accepted for {len(recipients)} recipient(s)")


def compose(channel: ChannelSettings, message: Message) -> EmailMessage:
    """The e-mail: multipart/alternative (text, then HTML), a Message-ID derived from the
    delivery id so a resend is recognisably the same message."""
    mail = EmailMessage()
    mail["Subject"] = " ".join(message.title.split())  # a header is one line
    mail["From"] = channel.sender
    mail["To"] = ", ".join(channel.to)
    mail["Date"] = format_datetime(message.at)
    mail["Message-ID"] = message_id(message.delivery, channel.sender)
    mail["X-Tracker-Event"] = message.event
    mail["X-Tracker-Delivery"] = message.delivery
    # base64 keeps Chinese text 7-bit clean for servers without 8BITMIME.
    mail.set_content(email_text(message), cte="base64")
    mail.add_alternative(email_html(message), subtype="html", cte="base64")
    return mail


def message_id(delivery: str, sender: str) -> str:
    """`<tracker.DELIVERY@domain of the sender>`, in characters a Message-ID allows."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<tracker.{re.sub(r'[^A-Za-z0-9._-]', '-', delivery)}@{domain}>"
