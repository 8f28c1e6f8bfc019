"""The claims the test provider releases: e-mail (verified or not, as the test seeded it), names,
preferred_username and a `groups` claim (Django groups at the provider) under a `groups` scope,
as Okta does."""

from oauth2_provider.oauth2_validators import OAuth2Validator

# username -> whether the provider "verified" the address (set through views.seed_user).
EMAIL_VERIFIED: dict[str, bool] = {}


class ClaimsValidator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups", "email_verified": "email"}

    def get_additional_claims(self, request):
        user = request.user
        return {
            "email": user.email,
            "email_verified": EMAIL_VERIFIED.get(user.username, True),
            "preferred_username": user.username,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "groups": sorted(group.name for group in user.groups.all()),
        }
