"""The customer as a whole: every identifier a delivery named (Identity), merges a person made
and can undo (CustomerMerge), contact consent per channel and its history (ConsentChange), and
B2B accounts with their contacts' roles (Account, Contact). Pages and API: docs/customers.md.

Layer: after cases and followup (the customer page reads their cases, contact attempts and
recovery checks); nothing below imports it. Identities arrive through
surveys.signals.response_recorded (customers.receivers), gathered per batch."""
