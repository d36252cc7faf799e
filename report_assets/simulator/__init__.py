"""A faithful, deterministic simulator of the Vipps MobilePay Report API (see shared NOTES.md)."""
