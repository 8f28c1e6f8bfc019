from django.urls import path

from cases.mail.doors import inbound_door

app_name = "mail"
urlpatterns = [
    path("<slug:door>/", inbound_door, name="inbound"),
]
