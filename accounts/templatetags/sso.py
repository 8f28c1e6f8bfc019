"""{% sso_button next %}: the "Sign in with <provider>" link on the sign-in page, only while single
sign-on is configured (accounts.sso.config)."""

from django import template

from accounts.sso.config import sso_config

register = template.Library()


@register.inclusion_tag("registration/_sso_button.html")
def sso_button(next_url: str = "") -> dict:
    config = sso_config()
    return {"enabled": config.enabled, "provider_name": config.provider_name, "next": next_url}
