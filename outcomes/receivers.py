"""Where this app plugs into the layers below it: Stripe deliveries, stored by the surveys' webhook
door, are recorded here as outcome events (surveys.services.handlers)."""

from outcomes.stripe import stripe_delivery_record
from surveys.services.handlers import delivery_handler_register

delivery_handler_register("stripe", stripe_delivery_record)
