"""The browser's network address, for the sign-in throttle's per-source count.

Behind a reverse proxy every connection comes from the proxy: counted as they arrive, one
guesser would lock out a whole clinic chain. The proxy names the browser in X-Forwarded-For
(each proxy appends the address it saw) or X-Real-IP. Anyone can send those headers, so they
are believed only from a proxy the settings name (TRACKER_TRUSTED_PROXIES) or one on this
machine, and X-Forwarded-For is read from the right: the last address no trusted proxy
appended is the browser's (a forged entry a browser sends sits to its left).

Uvicorn (the app's server) does the same for X-Forwarded-For from this machine before
Streamlit sees the connection; this also covers proxies on other machines and X-Real-IP.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, trusted: tuple[Network, ...]) -> bool:
    return address.is_loopback or any(address in network for network in trusted)


def source_address(peer: str | None, headers: Mapping[str, str], trusted: tuple[Network, ...]) -> str | None:
    """The browser's address: `peer` (the connection's, None for this machine as Streamlit
    reports it) unless that is a trusted proxy, then what the proxies' headers say. None
    when a trusted proxy names no untrusted address or sends one that cannot be read: then
    nothing is counted per source (the per-email count still is), rather than the proxy's
    own address for everyone."""
    sender = _parse(peer) if peer else ip_address("127.0.0.1")
    if sender is None or not _trusted(sender, trusted):
        return peer
    lowered = {k.lower(): v for k, v in headers.items()}
    chain = [hop for hop in lowered.get("x-forwarded-for", "").split(",") if hop.strip()]
    if not chain and lowered.get("x-real-ip", "").strip():
        chain = [lowered["x-real-ip"]]
    for hop in reversed(chain):
        address = _parse(hop)
        if address is None:
            return None
        if not _trusted(address, trusted):
            return address.compressed
    return None  # no header, or only proxies in it


__all__ = ["source_address"]
