"""What fires (rules.yaml) and where it goes (sinks.yaml), both in the data folder's alerts/.

Both files are optional: without rules.yaml every rule runs with its defaults, without sinks.yaml
alerts go to one JSONL file. Secrets are never in the files, only the names of the environment
variables holding them, read when a delivery is made. A file that does not parse or validate is
refused with an AlertConfigError listing each problem once at its line.
"""

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from billing_pipeline.lib.config_errors import ConfigError, Problem, line_of, read_text, syntax_problem

KINDS = ("quota", "low_credit", "trial_ending", "anomaly", "payment_failed")
Kind = Literal["quota", "low_credit", "trial_ending", "anomaly", "payment_failed"]

RULES_FILE = "rules.yaml"
SINKS_FILE = "sinks.yaml"
DEFAULT_JSONL = "alerts.jsonl"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuotaRule(_Strict):
    enabled: bool = True
    # percent of the limit, or of the included allowance when a metric has no limit
    thresholds: tuple[Annotated[Decimal, Field(gt=0, max_digits=9, decimal_places=2)], ...] = (
        Decimal(75), Decimal(90), Decimal(100))


class LowCreditRule(_Strict):
    enabled: bool = True
    below_percent: Annotated[Decimal, Field(ge=0, le=100)] | None = Decimal(10)
    below_cents: Annotated[int, Field(ge=0)] | None = None  # minor units of the account's currency


class TrialEndingRule(_Strict):
    enabled: bool = True
    days_before: Annotated[int, Field(ge=1)] = 3


class AnomalyRule(_Strict):
    enabled: bool = True
    factor: Annotated[Decimal, Field(gt=0)] = Decimal(3)
    trailing_days: Annotated[int, Field(ge=1)] = 14
    min_quantity: Annotated[Decimal, Field(ge=0)] = Decimal(100)
    min_quantity_by_metric: dict[str, Annotated[Decimal, Field(ge=0)]] = {}

    def floor(self, metric: str) -> Decimal:
        return self.min_quantity_by_metric.get(metric, self.min_quantity)


class PaymentFailedRule(_Strict):
    enabled: bool = True


class AlertRules(_Strict):
    quota: QuotaRule = QuotaRule()
    low_credit: LowCreditRule = LowCreditRule()
    trial_ending: TrialEndingRule = TrialEndingRule()
    anomaly: AnomalyRule = AnomalyRule()
    payment_failed: PaymentFailedRule = PaymentFailedRule()


class _Sink(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kinds: tuple[Kind, ...] = KINDS  # the kinds this sink receives

    def accepts(self, kind: str) -> bool:
        return kind in self.kinds


class JsonlSinkConfig(_Sink):
    type: Literal["jsonl"]
    path: str = DEFAULT_JSONL  # relative to the alerts folder


class WebhookSinkConfig(_Sink):
    type: Literal["webhook"]
    url: str
    secret_env: str
    timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    retries: Annotated[int, Field(ge=0)] = 3
    backoff_seconds: Annotated[float, Field(ge=0)] = 0.5
    headers: dict[str, str] = {}


class SmtpSinkConfig(_Sink):
    type: Literal["smtp"]
    host: str
    port: int = 25
    starttls: bool = False
    username_env: str | None = None
    password_env: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    sender: str = Field(alias="from")
    to: tuple[str, ...] = ()
    to_account: bool = False  # also mail the account's own address (accounts.csv email)

    @model_validator(mode="after")
    def _has_recipients(self) -> "SmtpSinkConfig":
        if not self.to and not self.to_account:
            raise ValueError(f"sink {self.name}: give `to` addresses, `to_account: true`, or both")
        return self


SinkConfig = Annotated[JsonlSinkConfig | WebhookSinkConfig | SmtpSinkConfig, Field(discriminator="type")]


class SinksFile(_Strict):
    sinks: tuple[SinkConfig, ...]

    @field_validator("sinks")
    @classmethod
    def _unique_names(cls, sinks: tuple) -> tuple:
        names = [s.name for s in sinks]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique, got {names}")
        return sinks


DEFAULT_SINKS = SinksFile(sinks=[JsonlSinkConfig(type="jsonl", name="jsonl")])


class AlertConfigError(ConfigError):
    refused = "alert configuration refused"


Model = TypeVar("Model", bound=BaseModel)


def _load(path: Path, model: type[Model], default: Model) -> Model:
    """The file validated as `model`; `default` when it is absent or empty."""
    if not path.exists():
        return default
    text = read_text(path)
    if isinstance(text, Problem):
        raise AlertConfigError([text])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise AlertConfigError([syntax_problem(path.name, text, error)]) from None
    if not document:
        return default
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise AlertConfigError([_problem(path.name, root, e) for e in error.errors()]) from None


def _problem(file: str, root: yaml.Node, error: dict) -> Problem:
    where = ".".join(str(step) for step in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    if error["type"] != "missing" and isinstance(given, (str, int, float, Decimal)):
        message += f" (got {given!r})"
    return Problem(file, line_of(root, error["loc"]), error["type"], f"{where}: {message}" if where else message)


def load_rules(alerts_folder: Path) -> AlertRules:
    return _load(alerts_folder / RULES_FILE, AlertRules, AlertRules())


def load_sinks(alerts_folder: Path) -> SinksFile:
    return _load(alerts_folder / SINKS_FILE, SinksFile, DEFAULT_SINKS)
