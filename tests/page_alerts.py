"""Reading the pages' alerts: the flash messages in #page-alerts and a form's error summary."""

import html
import re

_ALERT = re.compile(
    r'<div class="usa-alert usa-alert--(success|error|info|warning) usa-alert--slim">\s*'
    r'<div class="usa-alert__body"><p class="usa-alert__text">([^<]*)</p>'
)
_SUMMARY = re.compile(
    r'<div class="usa-alert usa-alert--error[^"]*" id="error-summary"(.*?)</div>\s*</div>', re.S
)
_LINK = re.compile(r'<li><a href="#([^"]+)">([^<]*)</a></li>')


def page_alerts(page: str) -> list[tuple[str, str]]:
    """The (kind, text) flash messages at the top of the page."""
    region = page.split('<div id="page-alerts" aria-live="polite">', 1)[1].split("<h1", 1)[0]
    return [(kind, html.unescape(text)) for kind, text in _ALERT.findall(region)]


def error_summary(page: str) -> list[tuple[str, str]]:
    """The error summary's links as (target id, text); [] when the page has no summary."""
    found = _SUMMARY.search(page)
    if found is None:
        return []
    return [(target, html.unescape(text)) for target, text in _LINK.findall(found.group(1))]
