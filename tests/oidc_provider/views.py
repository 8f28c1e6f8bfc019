"""Test-only endpoints of the test provider: the tests seed people (with groups) and the client
application over loopback, as an administrator would in the provider's console."""

import json

from django.contrib.auth.models import Group, User
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import Application

from tests.oidc_provider.validator import EMAIL_VERIFIED


@csrf_exempt
@require_POST
def seed_user(request):
    data = json.loads(request.body)
    user, _ = User.objects.get_or_create(username=data["username"])
    user.email = data.get("email", "")
    user.first_name = data.get("first_name", "")
    user.last_name = data.get("last_name", "")
    user.set_password(data["password"])
    user.save()
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in data.get("groups", [])])
    EMAIL_VERIFIED[user.username] = data.get("email_verified", True)
    return JsonResponse({"sub": str(user.pk)})


@csrf_exempt
@require_POST
def seed_client(request):
    data = json.loads(request.body)
    Application.objects.filter(client_id=data["client_id"]).delete()
    Application.objects.create(
        client_id=data["client_id"], client_secret=data["client_secret"], name="Closeloop",
        client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(data["redirect_uris"]), algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    return JsonResponse({"client_id": data["client_id"]})
