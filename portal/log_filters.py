"""A log filter that keeps personal-link tokens out of log files.

The token is a credential and sits in the path (`/p/<token>/...`). Portal views
already keep their own 4xx answers out of Django's request log; this filter
covers what they cannot: server errors and the development server's access log.
Wire it into LOGGING for the handlers that write request lines.
"""

import logging
import re

TOKEN_IN_PATH = re.compile(r"(/p/)[^/\s?#\"']+")


class RedactPortalTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = TOKEN_IN_PATH.sub(r"\1[token]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
