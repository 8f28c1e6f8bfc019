from django.urls import path

from privacy import api

urlpatterns = [
    path("customers/<int:pk>/export/", api.CustomerExportApi.as_view(), name="customer-export"),
    path("customers/<int:pk>/erase/", api.CustomerEraseApi.as_view(), name="customer-erase"),
]
