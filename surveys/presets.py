"""What the set-up page tells a CX admin for each survey tool: where to click in the tool's own
screens, which secret goes where, which auth options the preset needs, and the Connect page in
docs/connect/. Text only: the formats and signatures are the adapters' (surveys/adapters/).

Steps may use `%(url)s` (the source's webhook address) and `%(secret)s` (its secret); `steps_for`
fills them in, in the reader's language (each step and hint is marked for translation; tool
names and the names of the tool's own screens and fields stay as the tool spells them).
`secret_from` says who issues the signing secret: "closeloop" (generated here, pasted into the
tool) or "tool" (the tool shows it; paste it into the source here).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Preset:
    vendor: str
    label: str
    steps: tuple  # of lazily translated strings
    secret_from: str = "closeloop"
    secret_hint: object = ""  # a lazily translated string
    needs_auth: tuple[str, ...] = ()
    feedback_kind: str = "survey"  # what a new source of this tool sends unless its admin says otherwise

    @property
    def docs(self) -> str:
        return f"docs/connect/{self.vendor}.md"

    def steps_for(self, *, url: str, secret: str) -> list[str]:
        """The steps in the reader's language, the source's address and secret filled in."""
        return [str(step) % {"url": url, "secret": secret} for step in self.steps]


FETCHING = ("api_token",)

PRESETS: dict[str, Preset] = {p.vendor: p for p in (
    Preset("typeform", "Typeform", (
        _("In Typeform, open the form and choose Connect, then the Webhooks tab."),
        _("Click Add a webhook, paste %(url)s as the endpoint and save."),
        _("Open the webhook's Edit settings, paste %(secret)s in Secret and save: Typeform then signs each "
          "delivery (Typeform-Signature)."),
        _("Switch the webhook on, then use View deliveries > Send test request, or the button below."),
    )),
    Preset("surveymonkey", "SurveyMonkey", (
        _("In SurveyMonkey's developer portal (My Apps), create a private app with the scopes View Surveys, "
          "View Response Details, View Webhooks and Create/Modify Webhooks, and deploy it."),
        _("Copy the app's access token into API token below; paste the app's Secret as this source's secret."),
        _("Create the webhook with the API (SurveyMonkey has no screen for it): POST /v3/webhooks with "
          "event_type response_completed, object_type survey, your survey ids and subscription_url %(url)s."),
        _("SurveyMonkey sends only ids; Closeloop fetches each response (and the survey's questions) with the token."),
    ), secret_from="tool", secret_hint=_("the SurveyMonkey app's Secret"), needs_auth=FETCHING),
    Preset("qualtrics", "Qualtrics", (
        _("In Qualtrics, open Account Settings > Qualtrics IDs: note your datacenter (e.g. fra1) and generate an "
          "API token. Put https://<datacenter>.qualtrics.com/API/v3 in API base and the token in API token below."),
        _("Create an event subscription with the API: POST /API/v3/eventsubscriptions with topics "
          "surveyengine.completedResponse.<SurveyID>, publicationUrl %(url)s and sharedKey %(secret)s."),
        _("Or, in a survey's Workflows, add a Web Service task: POST to %(url)s, JSON body with the response's "
          "fields (see the Connect page), header X-Closeloop-Token: %(secret)s."),
        _("Event subscriptions send only ids; Closeloop fetches each response with the token."),
    ), needs_auth=FETCHING),
    Preset("delighted", "Delighted", (
        _("In Delighted, open Integrations > Webhooks."),
        _("Paste %(url)s as the URL for the events Survey response created and Survey response updated, and save."),
        _("Delighted signs deliveries with your account's private API key (Settings > API): paste that key as "
          "this source's secret."),
    ), secret_from="tool", secret_hint=_("Delighted's private API key")),
    Preset("formbricks", "Formbricks", (
        _("In Formbricks, open Configuration > Integrations > Webhooks and click Add Webhook."),
        _("Paste %(url)s as the URL, choose the triggers Response Created, Response Updated and Response Finished, "
          "and the surveys to send; save."),
        _("Formbricks signs deliveries the Standard Webhooks way with the webhook's own secret (whsec_...): "
          "copy it from the webhook and paste it as this source's secret."),
    ), secret_from="tool", secret_hint=_("the Formbricks webhook's secret (whsec_...)")),
    Preset("standard", "Standard Webhooks", (
        _("In the sending system, add a webhook endpoint %(url)s."),
        _("Give it the signing secret %(secret)s (or paste the sender's own whsec_ secret here instead)."),
        _("It must send webhook-id, webhook-timestamp and webhook-signature (v1,<base64 HMAC-SHA256>) headers, "
          "with Closeloop's response format or a survey event such as survey_response.completed."),
    )),
    Preset("tally", "Tally", (
        _("In Tally, open the form, then Integrations > Webhooks > Connect."),
        _("Paste %(url)s as the Endpoint URL and %(secret)s as the Signing secret (Tally-Signature), then Connect."),
        _("Submit the form once, or use the button below."),
    )),
    Preset("jotform", "Jotform", (
        _("In Jotform, open the form, then Settings > Integrations and search for WebHooks."),
        _("Paste %(url)s?token=%(secret)s as the webhook URL and click Complete Integration (Jotform signs nothing, "
          "so the token in the address is what proves a delivery is yours; keep the address secret)."),
    )),
    Preset("surveysparrow", "SurveySparrow", (
        _("In SurveySparrow, open Settings > Apps & Integrations and create a custom app with access to responses; "
          "copy its access token into API token below."),
        _("Open the survey, then Integrate > Webhooks > Add webhook: POST to %(url)s, with the custom header "
          "X-Closeloop-Token: %(secret)s."),
        _("SurveySparrow's webhook may carry only ids; Closeloop fetches the response with the token."),
    ), needs_auth=FETCHING),
    Preset("zendesk", "Zendesk CSAT", (
        _("In Zendesk Admin Center, open Apps and integrations > Webhooks > Create webhook, choose Trigger or "
          "automation, endpoint %(url)s, method POST, format JSON, and create it."),
        _("On the webhook's page, reveal the Signing secret and paste it as this source's secret (Zendesk signs with "
          "X-Zendesk-Webhook-Signature and -Signature-Timestamp)."),
        _("Open Objects and rules > Triggers > Add trigger: condition Ticket > Satisfaction is Changed; action "
          "Notify active webhook with this webhook and the JSON body from the Connect page."),
    ), secret_from="tool", secret_hint=_("the Zendesk webhook's signing secret")),
    Preset("intercom", "Intercom", (
        _("In Intercom's Developer Hub, open your app (or create one for this workspace), then Basic information: "
          "copy the Client secret and paste it as this source's secret (Intercom signs every notification with "
          "it, X-Hub-Signature)."),
        _("Open Webhooks, paste %(url)s as the endpoint URL, select the topic conversation.rating.added (permission "
          "Read conversations) and save: Intercom sends a ping, which Closeloop acknowledges."),
        _("Each rating a customer gives a conversation (1-5, and the remark) arrives as CSAT 1-5, marked as a support "
          "rating nobody asked for."),
    ), secret_from="tool", secret_hint=_("the Intercom app's client secret"), feedback_kind="support"),
    Preset("helpscout", "Help Scout", (
        _("In Help Scout, open Manage > Apps > Webhooks and install it (or edit it)."),
        _("Paste %(url)s as the Callback URL and %(secret)s as the Secret Key, tick the event Rating Received "
          "(satisfaction.ratings) and save: Help Scout signs every delivery with it (X-HelpScout-Signature)."),
        _("Each Great, Okay or Bad rating (and its comment) arrives as CSAT 5, 3 or 1 of 5, marked as a support "
          "rating nobody asked for."),
    ), feedback_kind="support"),
    Preset("google_forms", "Google Forms", (
        _("In Google Forms, open the form's menu (three dots) > Apps Script."),
        _("Replace the editor's code with Closeloop's script (surveys/adapters/google_forms.gs), set its URL to %(url)s "
          "and its SECRET to %(secret)s, and save."),
        _("Open Triggers > Add Trigger: function onFormSubmit, event source From form, event type On form submit; "
          "save and allow the script to run."),
    )),
    Preset("stripe", _("Stripe (billing events)"), (
        _("In the Stripe Dashboard, open Developers > Webhooks (Workbench) > Add destination, choose your account's "
          "events and select customer.subscription.deleted, customer.subscription.updated, invoice.paid and "
          "charge.refunded."),
        _("Choose Webhook endpoint, paste %(url)s as the endpoint URL and create the destination."),
        _("Reveal the destination's Signing secret (whsec_...) and paste it as this source's secret: Stripe signs "
          "each event with Stripe-Signature."),
        _("Send a test event from Stripe, or use the button below. Events become business outcomes "
          "(docs/outcomes.md), matched to customers as docs/connect/stripe.md describes."),
    ), secret_from="tool", secret_hint=_("the Stripe endpoint's signing secret (whsec_...)")),
    Preset("generic", _("Any other tool (generic)"), (
        _("In the tool's webhook settings, send a POST with a JSON or form body to %(url)s."),
        _("Sign each body with HMAC-SHA256 and the secret %(secret)s in an X-Signature header (hex), or, for a tool "
          "that signs nothing, choose mode token and send the secret in an X-Webhook-Token header."),
        _("Paste one of the tool's deliveries in Preview below and map its fields (by path, question id, ref or "
          "title; value maps turn answer text into numbers) until the preview shows the right response."),
    )),
)}



def preset_for(vendor: str) -> Preset:
    return PRESETS[vendor]
