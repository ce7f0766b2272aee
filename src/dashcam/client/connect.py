"""Which client a command gets: ``--server``, else ``DASHCAM_SERVER_URL``, else the database."""

from __future__ import annotations

from dashcam.client.base import DashcamClient
from dashcam.client.local import LocalClient
from dashcam.client.remote import RemoteClient
from dashcam.config import Settings


def chosen_server(settings: Settings, server_url: str | None) -> str | None:
    """The server to ask: ``--server``, else ``DASHCAM_SERVER_URL`` when it is set (in the
    environment or the config file), else None for the local database."""
    if server_url:
        return server_url
    return settings.server_url if "server_url" in settings.model_fields_set else None


def open_client(
    settings: Settings, server_url: str | None = None, *, create: bool = False
) -> DashcamClient:
    """The client for a command. Local reads never create a database (``create`` is for
    ``ingest``); a missing one is an :class:`InputError` that says where it looked."""
    url = chosen_server(settings, server_url)
    if url:
        return RemoteClient(url, settings.api_key)
    return LocalClient.open(settings, create=create)
