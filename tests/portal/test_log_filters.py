"""Tokens of personal links never reach a log line."""

import logging

from django.test import override_settings

from portal.log_filters import RedactPortalTokens


def test_it_replaces_the_token_in_a_request_line(caplog):
    """Django's request and server loggers write the path; the token is masked."""
    logger = logging.getLogger("tests.portal.redact")
    logger.addFilter(RedactPortalTokens())
    token = "kioFOmQYhvb078UyEJQB_kerJLPFq2eMbtihdlIod88"

    with caplog.at_level(logging.INFO, logger="tests.portal.redact"):
        logger.error("Internal Server Error: %s", f"/p/{token}/pay/")
        logger.info('"%s" %s %s', f"GET /p/{token}/?x=1 HTTP/1.1", "200", "512")
        logger.info("Not Found: %s", "/admin/p")

    assert token not in caplog.text
    assert caplog.messages == [
        "Internal Server Error: /p/[token]/pay/",
        '"GET /p/[token]/?x=1 HTTP/1.1" 200 512',
        "Not Found: /admin/p",
    ]


def handlers_reached(name: str):
    """Every handler a record of logger `name` is written by (pytest's own left out)."""
    logger = logging.getLogger(name)
    while logger is not None:
        for handler in logger.handlers:
            if not type(handler).__module__.startswith("_pytest"):
                yield handler
        if not logger.propagate:
            break
        logger = logger.parent


@override_settings(DEBUG=True)
def test_django_s_own_loggers_write_no_token_in_development():
    """A refused CSRF check on the debtor page logs its path: masked everywhere."""
    token = "MQmo0Z09kioFOmQYhvb078UyEJQB_kerJLPFq2eMbti"
    logger = logging.getLogger("django.security.csrf")
    written = []
    for handler in handlers_reached(logger.name):
        record = logger.makeRecord(
            logger.name,
            logging.WARNING,
            __file__,
            1,
            "Forbidden (%s): %s",
            ("CSRF token missing.", f"/p/{token}/claims/73/promise/"),
            None,
        )
        if handler.filter(record):
            written.append(handler.format(record))

    assert written
    assert all(token not in line for line in written)
    assert all("/p/[token]/claims/73/promise/" in line for line in written)
