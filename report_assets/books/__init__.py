"""Booking the settlement data: the account map, and (to come) journal lines and statements."""
