from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers and accounts"

    def ready(self):
        from customers import receivers  # noqa: F401  (identities from surveys.signals.response_recorded)
        from customers import panels
        from customers.importers import register_importers

        panels.register()  # the account line on the case page of a case an account rule opened (core.panels)

        register_importers()  # customers, accounts and contacts on the import machinery (imports.registry)
