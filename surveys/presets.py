"""What the set-up page tells a CX admin for each survey tool: where to click in the tool's own
screens, which secret goes where, which auth options the preset needs, and the Connect page in
docs/connect/. Text only: the formats and signatures are the adapters' (surveys/adapters/).

Steps may use `{url}` (the source's webhook address) and `{secret}` (its secret); `steps_for`
fills them in. `secret_from` says who issues the signing secret: "closeloop" (generated here,
pasted into the tool) or "tool" (the tool shows it; paste it into the source here).
"""

from __future__ import annotations

from dataclasses import dataclass



@dataclass(frozen=True)
class Preset:
    vendor: str
    label: str
    steps: tuple[str, ...]
    secret_from: str = "closeloop"
    secret_hint: str = ""
    needs_auth: tuple[str, ...] = ()

    @property
    def docs(self) -> str:
        return f"docs/connect/{self.vendor}.md"

    def steps_for(self, *, url: str, secret: str) -> list[str]:
        return [step.replace("{url}", url).replace("{secret}", secret) for step in self.steps]


FETCHING = ("api_token",)

PRESETS: dict[str, Preset] = {p.vendor: p for p in (
    Preset("typeform", "Typeform", (
        "In Typeform, open the form and choose Connect, then the Webhooks tab.",
        "Click Add a webhook, paste {url} as the endpoint and save.",
        "Open the webhook's Edit settings, paste {secret} in Secret and save: Typeform then signs each "
        "delivery (Typeform-Signature).",
        "Switch the webhook on, then use View deliveries > Send test request, or the button below.",
    )),
    Preset("surveymonkey", "SurveyMonkey", (
        "In SurveyMonkey's developer portal (My Apps), create a private app with the scopes View Surveys, "
        "View Response Details, View Webhooks and Create/Modify Webhooks, and deploy it.",
        "Copy the app's access token into API token below; paste the app's Secret as this source's secret.",
        "Create the webhook with the API (SurveyMonkey has no screen for it): POST /v3/webhooks with "
        "event_type response_completed, object_type survey, your survey ids and subscription_url {url}.",
        "SurveyMonkey sends only ids; Closeloop fetches each response (and the survey's questions) with the token.",
    ), secret_from="tool", secret_hint="the SurveyMonkey app's Secret", needs_auth=FETCHING),
    Preset("qualtrics", "Qualtrics", (
        "In Qualtrics, open Account Settings > Qualtrics IDs: note your datacenter (e.g. fra1) and generate an "
        "API token. Put https://<datacenter>.qualtrics.com/API/v3 in API base and the token in API token below.",
        "Create an event subscription with the API: POST /API/v3/eventsubscriptions with topics "
        "surveyengine.completedResponse.<SurveyID>, publicationUrl {url} and sharedKey {secret}.",
        "Or, in a survey's Workflows, add a Web Service task: POST to {url}, JSON body with the response's "
        "fields (see the Connect page), header X-Closeloop-Token: {secret}.",
        "Event subscriptions send only ids; Closeloop fetches each response with the token.",
    ), needs_auth=FETCHING),
    Preset("delighted", "Delighted", (
        "In Delighted, open Integrations > Webhooks.",
        "Paste {url} as the URL for the events Survey response created and Survey response updated, and save.",
        "Delighted signs deliveries with your account's private API key (Settings > API): paste that key as "
        "this source's secret.",
    ), secret_from="tool", secret_hint="Delighted's private API key"),
    Preset("formbricks", "Formbricks", (
        "In Formbricks, open Configuration > Integrations > Webhooks and click Add Webhook.",
        "Paste {url} as the URL, choose the triggers Response Created, Response Updated and Response Finished, "
        "and the surveys to send; save.",
        "Formbricks signs deliveries the Standard Webhooks way with the webhook's own secret (whsec_...): "
        "copy it from the webhook and paste it as this source's secret.",
    ), secret_from="tool", secret_hint="the Formbricks webhook's secret (whsec_...)"),
    Preset("standard", "Standard Webhooks", (
        "In the sending system, add a webhook endpoint {url}.",
        "Give it the signing secret {secret} (or paste the sender's own whsec_ secret here instead).",
        "It must send webhook-id, webhook-timestamp and webhook-signature (v1,<base64 HMAC-SHA256>) headers, "
        "with Closeloop's response format or a survey event such as survey_response.completed.",
    )),
    Preset("tally", "Tally", (
        "In Tally, open the form, then Integrations > Webhooks > Connect.",
        "Paste {url} as the Endpoint URL and {secret} as the Signing secret (Tally-Signature), then Connect.",
        "Submit the form once, or use the button below.",
    )),
    Preset("jotform", "Jotform", (
        "In Jotform, open the form, then Settings > Integrations and search for WebHooks.",
        "Paste {url}?token={secret} as the webhook URL and click Complete Integration (Jotform signs nothing, "
        "so the token in the address is what proves a delivery is yours; keep the address secret).",
    )),
    Preset("surveysparrow", "SurveySparrow", (
        "In SurveySparrow, open Settings > Apps & Integrations and create a custom app with access to responses; "
        "copy its access token into API token below.",
        "Open the survey, then Integrate > Webhooks > Add webhook: POST to {url}, with the custom header "
        "X-Closeloop-Token: {secret}.",
        "SurveySparrow's webhook may carry only ids; Closeloop fetches the response with the token.",
    ), needs_auth=FETCHING),
    Preset("zendesk", "Zendesk CSAT", (
        "In Zendesk Admin Center, open Apps and integrations > Webhooks > Create webhook, choose Trigger or "
        "automation, endpoint {url}, method POST, format JSON, and create it.",
        "On the webhook's page, reveal the Signing secret and paste it as this source's secret (Zendesk signs with "
        "X-Zendesk-Webhook-Signature and -Signature-Timestamp).",
        "Open Objects and rules > Triggers > Add trigger: condition Ticket > Satisfaction is Changed; action "
        "Notify active webhook with this webhook and the JSON body from the Connect page.",
    ), secret_from="tool", secret_hint="the Zendesk webhook's signing secret"),
    Preset("google_forms", "Google Forms", (
        "In Google Forms, open the form's menu (three dots) > Apps Script.",
        "Replace the editor's code with Closeloop's script (surveys/adapters/google_forms.gs), set its URL to {url} "
        "and its SECRET to {secret}, and save.",
        "Open Triggers > Add Trigger: function onFormSubmit, event source From form, event type On form submit; "
        "save and allow the script to run.",
    )),
    Preset("stripe", "Stripe (billing events)", (
        "In the Stripe Dashboard, open Developers > Webhooks (Workbench) > Add destination, choose your account's "
        "events and select customer.subscription.deleted, customer.subscription.updated, invoice.paid and "
        "charge.refunded.",
        "Choose Webhook endpoint, paste {url} as the endpoint URL and create the destination.",
        "Reveal the destination's Signing secret (whsec_...) and paste it as this source's secret: Stripe signs "
        "each event with Stripe-Signature.",
        "Send a test event from Stripe, or use the button below. Events become business outcomes "
        "(docs/outcomes.md), matched to customers as docs/connect/stripe.md describes.",
    ), secret_from="tool", secret_hint="the Stripe endpoint's signing secret (whsec_...)"),
    Preset("generic", "Any other tool (generic)", (
        "In the tool's webhook settings, send a POST with a JSON or form body to {url}.",
        "Sign each body with HMAC-SHA256 and the secret {secret} in an X-Signature header (hex), or, for a tool "
        "that signs nothing, choose mode token and send the secret in an X-Webhook-Token header.",
        "Paste one of the tool's deliveries in Preview below and map its fields (by path, question id, ref or "
        "title; value maps turn answer text into numbers) until the preview shows the right response.",
    )),
)}



def preset_for(vendor: str) -> Preset:
    return PRESETS[vendor]
