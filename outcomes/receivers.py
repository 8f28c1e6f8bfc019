"""Where this app plugs into the layers below it: Stripe deliveries, stored by the surveys' webhook
door, are recorded here as outcome events (surveys.services.handlers); a customer merge moves the
merged customer's outcome events to the target, and its undo moves them back (customers.services
.merge_mover_register: the ids are kept in the merge record and sent with its audit signal)."""

from customers.services import merge_mover_register
from outcomes.services import outcome_events_move, outcome_events_move_back
from outcomes.stripe import stripe_delivery_record
from surveys.services.handlers import delivery_handler_register

delivery_handler_register("stripe", stripe_delivery_record)
merge_mover_register("outcomes", move=outcome_events_move, move_back=outcome_events_move_back)
