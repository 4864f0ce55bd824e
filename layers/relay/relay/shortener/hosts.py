"""Where the shortener's links live, and which hosts are its own.

A short link is served by SHORT_BASE_URL when a deployment maps a short domain,
else by the API's own host. Both hosts count as the shortener's own: a link to
either could loop, so shortening one is refused (relay.shortener.links).
The handler hands in the API host and scheme it read from the event.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def public_base_url(short_base_url: str, api_host: str, scheme: str) -> str:
    """`short_base_url` when a domain is mapped, else the API's own host."""
    if short_base_url:
        return short_base_url
    return f"{'http' if scheme == 'http' else 'https'}://{api_host}"


def own_hosts(short_base_url: str, api_host: str) -> frozenset[str]:
    """The hosts that serve this shortener's links: SHORT_BASE_URL's, and the API's own
    (which still redirects when a custom domain is mapped in front of it)."""
    hosts = (urlsplit(short_base_url).hostname, urlsplit(f"//{api_host}").hostname)
    return frozenset(host.rstrip(".") for host in hosts if host)
