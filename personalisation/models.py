from django.db import models


class Decision(models.Model):
    """What personalisation chose for one action, with its reasons and scores."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE)
    action = models.CharField(max_length=20, help_text="The firmest step action")
    channel = models.CharField(max_length=10, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    tone = models.CharField(max_length=12)
    variant = models.CharField(max_length=20, default="a")
    language = models.CharField(max_length=8)
    payment_options = models.JSONField(default=list)
    # One sentence per question (channel, send_time, tone, payment_options).
    reasons = models.JSONField(default=dict)
    scores = models.JSONField(default=dict)
    policy = models.CharField(max_length=40)
    model_version = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.channel or 'no channel'} / {self.tone} ({self.policy})"
