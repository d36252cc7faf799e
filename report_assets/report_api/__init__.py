"""Client for the Vipps MobilePay Report API (production or the simulator)."""

from report_assets.report_api.client import FeedPage, FetchedPages, Ledger, ReportApiClient
from report_assets.report_api.settings import ApiSettings, RetrySettings, Secret, settings_from_env

__all__ = [
    "ApiSettings",
    "FeedPage",
    "FetchedPages",
    "Ledger",
    "ReportApiClient",
    "RetrySettings",
    "Secret",
    "settings_from_env",
]
