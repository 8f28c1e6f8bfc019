from django.urls import path

from contactpolicy.api import ContactDecisionView, ContactRecordView, PolicySettingsView

urlpatterns = [
    path("contact-policy/", ContactDecisionView.as_view(), name="contact-policy"),
    path("contact-policy/contacts/", ContactRecordView.as_view(), name="contact-policy-contacts"),
    path("contact-policy/settings/", PolicySettingsView.as_view(), name="contact-policy-settings"),
]
