from django.utils.translation import gettext
from rest_framework import serializers

from surveys.models import SurveyResponse, Theme, WebhookSource


class ResponseSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    survey_name = serializers.CharField(source="survey.name", read_only=True)
    nps_group = serializers.CharField(read_only=True)
    sentiment_source = serializers.ChoiceField(
        choices=[("", "No comment"), ("text", "Read from the comment"), ("score", "From the score (fallback)")],
        read_only=True, help_text="text: VADER over an English comment; score: the fallback for other languages; "
        "empty without a comment.")
    themes = serializers.SerializerMethodField(help_text="Slugs of the themes the comment is about.")
    theme_matches = serializers.SerializerMethodField(
        help_text="For each theme, the words of the comment that matched it (for highlighting).")

    class Meta:
        model = SurveyResponse
        fields = [
            "id", "source", "survey", "survey_name", "customer", "external_id", "answered_at", "received_at",
            "nps", "nps_group", "csat", "csat_scale_min", "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max",
            "ces_high_is_easy", "scores", "comment", "sentiment", "sentiment_source", "language", "themes",
            "theme_matches", "touchpoint", "channel", "location", "region", "attributes", "team",
        ]
        read_only_fields = fields

    def get_themes(self, response) -> list[str]:
        return [link.theme.slug for link in response.theme_links.all()]

    def get_theme_matches(self, response) -> list[dict]:
        return [{"theme": link.theme.slug, "matches": link.matches} for link in response.theme_links.all()]


class ThemeSerializer(serializers.ModelSerializer):
    """A theme. Admins create and change themes here (validated as on the Themes page); a status
    change is a decision: proposed -> active (accept) or rejected (reject), active -> retired
    (retire), retired or rejected -> active (reactivate)."""

    keywords = serializers.ListField(child=serializers.CharField(max_length=100, trim_whitespace=True),
                                     required=False, help_text="Keywords and phrases; any one tags a comment.")
    status = serializers.ChoiceField(choices=Theme.Status.choices, required=False)

    class Meta:
        model = Theme
        fields = ["id", "name", "slug", "keywords", "status", "origin", "description", "examples", "created_at",
                  "updated_at", "decided_at"]
        read_only_fields = ["slug", "origin", "examples", "created_at", "updated_at", "decided_at"]
        extra_kwargs = {"name": {"validators": []}}  # uniqueness is checked (case-insensitively) by the service

    def validate(self, attrs):
        from surveys.services import theme_problems

        instance = self.instance
        status = attrs.get("status", instance.status if instance else Theme.Status.ACTIVE)
        if instance is None and status not in (Theme.Status.ACTIVE, Theme.Status.RETIRED):
            raise serializers.ValidationError({"status": gettext("A new theme is active (or retired); proposals "
                                                                 "come from discovery.")})
        problems = theme_problems(
            name=attrs.get("name", instance.name if instance else ""),
            keywords=attrs.get("keywords", instance.keywords if instance else []),
            status=status, exclude_pk=instance.pk if instance else None,
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class SourceSerializer(serializers.ModelSerializer):
    """A webhook source. `secret` is shown once, in the answer to the create (and may be set or
    rotated by writing it); `url` is the address the survey tool posts to. Mapping and auth
    options are checked by the same function as on the set-up page, the CLI and the Django admin
    (surveys.services.sources.source_problems): an error names the mapping key or auth option."""

    url = serializers.SerializerMethodField(help_text="The webhook address to paste into the survey tool.")
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=255,
                                   help_text="Signing secret; generated when omitted on create.")
    slug = serializers.SlugField(max_length=60, required=False, help_text="The address's last part (from the name "
                                 "when omitted); fixed once created.")
    vendor = serializers.ChoiceField(choices=WebhookSource._meta.get_field("vendor").choices)
    auth = serializers.JSONField(required=False, help_text="Auth options: the vendor's AUTH_OPTIONS only.")
    mapping = serializers.JSONField(required=False, help_text="Field -> path, value maps and scales.")

    class Meta:
        model = WebhookSource
        fields = ["id", "name", "slug", "vendor", "url", "secret", "auth", "mapping", "active",
                  "rate_limit_per_second", "secret_grace_hours", "feedback_kind", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"name": {"required": True}}

    def to_representation(self, source):
        from surveys.services.sources import auth_masked

        data = super().to_representation(source)
        data["auth"] = auth_masked(source.auth)  # vendor credentials: the last 4 characters only
        return data

    def get_url(self, source) -> str:
        from django.conf import settings
        from django.urls import reverse

        return f"{settings.SITE_URL}{reverse('webhook', args=[source.slug])}"

    def validate(self, attrs):
        from surveys.services import source_problems

        instance = self.instance
        if instance is not None:
            for fixed in ("vendor", "slug"):
                if fixed in attrs and attrs[fixed] != getattr(instance, fixed):
                    raise serializers.ValidationError({fixed: gettext(
                        "The %(field)s is fixed once the source exists; create another source instead.") % {
                        "field": fixed}})
        from surveys.services.sources import auth_unmasked

        vendor = attrs.get("vendor", instance.vendor if instance else "")
        problems = source_problems(
            vendor=vendor, mapping=attrs.get("mapping", instance.mapping if instance else {}),
            auth=auth_unmasked(attrs.get("auth", instance.auth if instance else {}), instance.auth if instance else {}),
            slug=attrs.get("slug") if instance is None else None, exclude_pk=instance.pk if instance else None)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class SourceCreatedSerializer(SourceSerializer):
    """The answer to a create: the source with its secret (shown this once)."""

    secret = serializers.CharField(read_only=True)


class TestDeliverySerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="What the webhook door answered (202 accepted).")
    answer = serializers.JSONField(help_text="The webhook door's answer body.")
    delivery = serializers.IntegerField(allow_null=True, help_text="The stored delivery's id.")
