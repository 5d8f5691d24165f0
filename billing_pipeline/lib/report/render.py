"""HTML from Jinja2 templates (autoescaped) and PDF from the same HTML with WeasyPrint."""

import logging
import warnings
from datetime import timedelta
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from billing_pipeline.lib.money import decimal_text, exact_text, money_text

_environment: Environment | None = None


def environment() -> Environment:
    global _environment
    if _environment is None:
        env = Environment(loader=PackageLoader("billing_pipeline.lib.report", "templates"),
                          autoescape=select_autoescape(["html", "j2"], default_for_string=True),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters["qty"] = decimal_text
        env.filters["money"] = lambda minor, money: money_text(minor, money.exponent, money.currency)
        env.filters["exact"] = lambda amount, money: exact_text(amount, money.exponent)
        env.filters["day"] = lambda day: day.strftime("%b %d")
        # usage_end is exclusive, like every period end here; people read the last day covered
        env.filters["last_day"] = lambda end: (end - timedelta(days=1)).strftime("%b %d")
        # Charts are our own matplotlib output (it escapes the text it draws): trusted markup.
        env.filters["trusted_svg"] = Markup
        _environment = env
    return _environment


def render_html(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def write_pdf(html: str, path: Path) -> None:
    with warnings.catch_warnings():
        # Without libharfbuzz-subset0 (not on a fresh Debian machine) WeasyPrint warns at import that a
        # future version will need it; this one embeds whole fonts instead, and the PDF is the same.
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset will be required", category=DeprecationWarning)
        from weasyprint import HTML  # imports fonts and layout machinery: only when a PDF is made

    # WeasyPrint logs every CSS property it does not support at WARNING; the report's CSS is ours.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    HTML(string=html, base_url=str(path.parent)).write_pdf(path)
