"""Tokens of personal links never reach a log line."""

import logging

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
