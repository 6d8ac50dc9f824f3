from django.http import HttpResponse


def home(request, token):
    # Placeholder until the debtor page lands.
    return HttpResponse("")
