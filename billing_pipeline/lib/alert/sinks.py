"""Where alerts go: a JSONL file, an HTTP webhook, email over SMTP.

A sink is a context manager (one file handle, HTTP client or SMTP session per run) with send().
Failures come in two kinds: SinkUnavailable (the sink is down or misconfigured: stop sending to it
this run, everything stays pending) and DeliveryRefused (this one alert could not go: the others
still can). Neither loses anything: the ledger keeps the delivery pending for the next run.
"""

import json
import os
import smtplib
import ssl
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Mapping, Protocol

import httpx

from billing_pipeline.lib.alert.alert import to_json
from billing_pipeline.lib.alert.config import JsonlSinkConfig, SmtpSinkConfig, WebhookSinkConfig
from billing_pipeline.lib.alert.records import PendingDelivery
from billing_pipeline.lib.alert.signature import HEADER, sign

KEY_HEADER = "Idempotency-Key"


class SinkUnavailable(Exception):
    """The sink cannot take anything now; later runs retry."""


class DeliveryRefused(Exception):
    """This alert could not be delivered; the sink still takes others."""


class Sink(Protocol):
    def __enter__(self) -> "Sink": ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, delivery: PendingDelivery) -> None: ...


def _secret(env: Mapping[str, str], name: str | None) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    if not value:
        raise SinkUnavailable(f"environment variable {name} is not set")
    return value


class JsonlSink:
    """One JSON line per alert, appended and fsync'd. Lines already in the file are not written
    again, so a crash between the write and the ledger update does not duplicate a line."""

    def __init__(self, config: JsonlSinkConfig, alerts_folder: Path) -> None:
        self.path = alerts_folder / config.path
        self._written: set[str] = set()
        self._handle = None

    def __enter__(self) -> "JsonlSink":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                with self.path.open() as existing:
                    self._written = {json.loads(line)["alert_key"] for line in existing if line.strip()}
            self._handle = self.path.open("a")
        except (OSError, ValueError, KeyError) as error:
            raise SinkUnavailable(f"{self.path}: {error}") from error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()

    def send(self, delivery: PendingDelivery) -> None:
        key = delivery.document["alert_key"]
        if key in self._written:
            return
        try:
            self._handle.write(to_json(delivery.document) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as error:
            raise SinkUnavailable(f"{self.path}: {error}") from error
        self._written.add(key)


class WebhookSink:
    """One signed JSON POST per alert. Retries connection errors, timeouts, 429 and 5xx with
    exponential backoff; any other non-2xx refuses that alert. Idempotency-Key carries the alert
    key, so a receiver can drop a repeat (a timeout after it accepted is one)."""

    def __init__(self, config: WebhookSinkConfig, env: Mapping[str, str], sleep=time.sleep) -> None:
        self.config = config
        self.env = env
        self.sleep = sleep
        self._client: httpx.Client | None = None
        self._secret = ""

    def __enter__(self) -> "WebhookSink":
        self._secret = _secret(self.env, self.config.secret_env)
        self._client = httpx.Client(timeout=self.config.timeout_seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()

    def send(self, delivery: PendingDelivery) -> None:
        body = to_json(delivery.document).encode()
        problem = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                self.sleep(self.config.backoff_seconds * 2 ** (attempt - 1))
            headers = {**self.config.headers, "Content-Type": "application/json",
                       KEY_HEADER: delivery.document["alert_key"], HEADER: sign(self._secret, body)}
            try:
                response = self._client.post(self.config.url, content=body, headers=headers)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
                continue
            if response.is_success:
                return
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code < 500 and response.status_code not in (408, 429):
                raise DeliveryRefused(problem)
        raise SinkUnavailable(f"{self.config.url} after {self.config.retries + 1} attempts: {problem}")


class SmtpSink:
    """One mail per alert, over one SMTP session per run. Its Message-ID derives from the alert key,
    so mail clients fold a repeat into the first."""

    def __init__(self, config: SmtpSinkConfig, env: Mapping[str, str]) -> None:
        self.config = config
        self.env = env
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpSink":
        config = self.config
        username, password = _secret(self.env, config.username_env), _secret(self.env, config.password_env)
        try:
            self._smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
            if config.starttls:
                self._smtp.starttls(context=ssl.create_default_context())
            if username is not None:
                self._smtp.login(username, password or "")
        except (OSError, smtplib.SMTPException) as error:
            self.__exit__()
            raise SinkUnavailable(f"smtp {config.host}:{config.port}: {error}") from error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def send(self, delivery: PendingDelivery) -> None:
        document = delivery.document
        recipients = list(self.config.to)
        if self.config.to_account and delivery.account_email and delivery.account_email not in recipients:
            recipients.append(delivery.account_email)
        if not recipients:
            raise DeliveryRefused(f"no recipient: account {document['account_id']} has no email")
        message = EmailMessage()
        message["Subject"] = f"Billing alert ({document['kind']}): {document['account_id']}"
        message["From"] = self.config.sender
        message["To"] = ", ".join(recipients)
        message["Message-ID"] = f"<{document['alert_key']}@billing-pipeline.alerts>"
        message["X-Billing-Alert-Key"] = document["alert_key"]
        message.set_content(f"{document['message']}\n\n{json.dumps(document, indent=2, sort_keys=True)}\n")
        try:
            self._smtp.send_message(message, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryRefused(f"recipients refused: {error.recipients}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise SinkUnavailable(f"smtp {self.config.host}:{self.config.port}: {error}") from error


def open_sink(config, alerts_folder: Path, env: Mapping[str, str]) -> Sink:
    if isinstance(config, JsonlSinkConfig):
        return JsonlSink(config, alerts_folder)
    if isinstance(config, WebhookSinkConfig):
        return WebhookSink(config, env)
    return SmtpSink(config, env)
