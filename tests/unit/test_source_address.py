"""The browser's address behind a reverse proxy: proxy headers believed only from a
trusted proxy, X-Forwarded-For read from the right."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from tracker.app.source_address import source_address
from tracker.config import Settings

PROXY = (ip_network("10.0.0.5/32"),)
CHAIN = (ip_network("10.0.0.0/24"), ip_network("192.0.2.0/24"))


def test_a_direct_connection_is_its_own_address_whatever_it_sends() -> None:
    forged = {"X-Forwarded-For": "198.51.100.1", "X-Real-IP": "198.51.100.2"}
    assert source_address("203.0.113.9", forged, PROXY) == "203.0.113.9"
    assert source_address("203.0.113.9", {}, ()) == "203.0.113.9"


def test_a_trusted_proxy_names_the_browser() -> None:
    assert source_address("10.0.0.5", {"X-Real-IP": "203.0.113.9"}, PROXY) == "203.0.113.9"
    assert source_address("10.0.0.5", {"x-forwarded-for": "203.0.113.9"}, PROXY) == "203.0.113.9"
    # an address the browser made up sits left of the one the proxy appended
    headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    assert source_address("10.0.0.5", headers, PROXY) == "203.0.113.9"
    # X-Forwarded-For (the whole chain) wins over X-Real-IP (the last proxy's peer)
    both = {"X-Forwarded-For": "203.0.113.9, 10.0.0.7", "X-Real-IP": "10.0.0.7"}
    assert source_address("10.0.0.5", both, CHAIN) == "203.0.113.9"


def test_proxies_in_a_row_are_skipped_from_the_right() -> None:
    headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 192.0.2.4, 10.0.0.8"}
    assert source_address("10.0.0.5", headers, CHAIN) == "203.0.113.9"


def test_a_proxy_on_this_machine_is_believed_without_a_setting() -> None:
    # Streamlit reports a connection from this machine as None
    assert source_address(None, {"X-Real-IP": "203.0.113.9"}, ()) == "203.0.113.9"
    assert source_address("::1", {"X-Forwarded-For": "2001:db8::1"}, ()) == "2001:db8::1"
    assert source_address(None, {}, ()) is None  # the operator's own browser


def test_no_readable_browser_address_counts_nothing_per_source() -> None:
    assert source_address("10.0.0.5", {}, PROXY) is None  # not the proxy's address for all
    assert source_address("10.0.0.5", {"X-Forwarded-For": "junk"}, PROXY) is None
    assert source_address("10.0.0.5", {"X-Forwarded-For": "10.0.0.5"}, PROXY) is None
    assert source_address("10.0.0.5", {"X-Real-IP": "  "}, PROXY) is None


def test_the_setting_takes_addresses_and_networks_and_refuses_anything_else() -> None:
    settings = Settings(trusted_proxies=" 10.0.0.5, 10.1.0.0/24 ,2001:db8::/32", _env_file=None)  # type: ignore[call-arg]
    assert settings.trusted_proxy_networks == (
        ip_network("10.0.0.5/32"),
        ip_network("10.1.0.0/24"),
        ip_network("2001:db8::/32"),
    )
    assert Settings(_env_file=None).trusted_proxy_networks == ()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"'proxy\.example' is not an IP address or network"):
        Settings(trusted_proxies="proxy.example", _env_file=None)  # type: ignore[call-arg]
