"""Channel backends: how a rendered message leaves the system.

E-mail goes through Django's e-mail API (`mail`, its backend is a setting); SMS and
WhatsApp through the small interface in `sms`; letters are PDFs that
`messaging.letters` renders and writes.
"""
