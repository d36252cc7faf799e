"""A faithful, deterministic simulator of the Vipps MobilePay Report API (see shared NOTES.md), with the bank that
receives its payouts. A stand-in for production: nothing below the Dagster layer and the entry points imports it,
and it imports only ``core``."""
