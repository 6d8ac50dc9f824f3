"""The tags and filters message templates stored in the database may use.

Django's default tags and filters, without the ones that reach outside the
context or switch escaping off: `{% load %}` would bring in arbitrary code,
`{% debug %}` prints the whole context and the loaded modules, `{% url %}` and
`{% csrf_token %}` have no meaning in a message, and `{% autoescape off %}`,
`|safe` and `|safeseq` would let a debtor's name from an ERP write markup into
an e-mail. `{% include %}`, `{% extends %}` and `{% block %}` live in
`loader_tags`, which the message engine does not load at all.
"""

from django.template import Library, defaultfilters, defaulttags

FORBIDDEN_TAGS = frozenset(
    {"load", "debug", "url", "csrf_token", "autoescape", "include", "extends", "block"}
)
FORBIDDEN_FILTERS = frozenset({"safe", "safeseq"})

register = Library()
register.tags.update(
    {
        name: tag
        for name, tag in defaulttags.register.tags.items()
        if name not in FORBIDDEN_TAGS
    }
)
register.filters.update(
    {
        name: function
        for name, function in defaultfilters.register.filters.items()
        if name not in FORBIDDEN_FILTERS
    }
)
