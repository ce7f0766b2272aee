"""Which bind addresses the server accepts without an API key."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import pytest

from dashcam.errors import ConfigError
from dashcam.server.app import check_exposure

REFUSED = pytest.raises(ConfigError, match="DASHCAM_API_KEY")


@pytest.mark.parametrize(
    ("host", "key", "insecure", "expected"),
    [
        ("127.0.0.1", None, False, nullcontext()),
        ("127.0.0.2", None, False, nullcontext()),
        ("::1", None, False, nullcontext()),
        ("localhost", None, False, nullcontext()),
        ("0.0.0.0", None, False, REFUSED),
        ("::", None, False, REFUSED),
        ("192.168.1.20", None, False, REFUSED),
        ("nas.lan", None, False, REFUSED),
        ("0.0.0.0", "s3cret", False, nullcontext()),
        ("0.0.0.0", None, True, nullcontext()),
    ],
)
def test_a_network_address_needs_a_key_or_an_explicit_insecure_flag(
    host: str, key: str | None, insecure: bool, expected: AbstractContextManager[object]
) -> None:
    with expected:
        check_exposure(host, key, insecure_no_key=insecure)
