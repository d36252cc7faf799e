"""Sensors and schedules that keep the ledgers current without anyone clicking."""
