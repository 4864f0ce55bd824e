"""CORS as an HTTP API answers it when the template gives it a `CorsConfiguration`.

API Gateway, not the function, speaks CORS then:
- a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is
  answered 204 by the gateway on any path, whether or not a route or an
  authorizer would take an `OPTIONS`; no function runs. When the origin, the
  method and every requested header are allowed, the answer carries
  `Access-Control-Allow-Origin`, `-Methods`, `-Headers`, `-Max-Age` and
  `-Credentials` as configured; when any is not, the 204 carries none of them,
  and the browser refuses the request it was asking about;
- any other request with an allowed `Origin` gets `Access-Control-Allow-Origin`,
  `-Expose-Headers` and `-Credentials` added to whatever the function (or the
  gateway: a 404, an authorizer's 401) answered;
- the configuration wins: `Access-Control-*` headers a function returns are
  dropped (the API Gateway guide: "API Gateway ignores CORS headers returned
  from your backend integration").

An allowed origin is echoed back, except that `*` configured answers `*`.
Origins compare without regard to case; `https://*` style entries allow any
origin that starts and ends as they do. A request without `Origin` is not a
CORS request and is left alone.
"""

from __future__ import annotations

from relay_local.gateways.http11 import Request, Response
from relay_local.template.model import CorsSpec

Headers = list[tuple[bytes, bytes]]

_PREFIX = b"access-control-"


class Cors:
    """One API's CORS configuration, with its constant headers encoded once."""

    def __init__(self, spec: CorsSpec) -> None:
        self.spec = spec
        self._any_origin = "*" in spec.allow_origins
        self._exact = {origin.lower() for origin in spec.allow_origins if "*" not in origin}
        self._patterns = [
            tuple(origin.lower().split("*", 1))
            for origin in spec.allow_origins
            if "*" in origin and origin != "*"
        ]
        self._any_method = "*" in spec.allow_methods
        self._methods = set(spec.allow_methods)
        self._any_header = "*" in spec.allow_headers
        self._headers = {header.lower() for header in spec.allow_headers}
        shared: Headers = []
        if spec.allow_credentials:
            shared.append((b"access-control-allow-credentials", b"true"))
        self._actual = list(shared)
        if spec.expose_headers:
            self._actual.append(
                (b"access-control-expose-headers", ",".join(spec.expose_headers).encode())
            )
        self._preflight = list(shared)
        if spec.allow_methods:
            self._preflight.append(
                (b"access-control-allow-methods", ",".join(spec.allow_methods).encode())
            )
        if spec.allow_headers:
            self._preflight.append(
                (b"access-control-allow-headers", ",".join(spec.allow_headers).encode())
            )
        if spec.max_age is not None:
            self._preflight.append((b"access-control-max-age", str(spec.max_age).encode()))

    def allow_origin(self, origin: str) -> bytes | None:
        """The `Access-Control-Allow-Origin` value for this origin, None if not allowed."""
        if self._any_origin:
            return b"*"
        lowered = origin.lower()
        if lowered in self._exact or any(
            lowered.startswith(head) and lowered.endswith(tail) and len(lowered) > len(head)
            for head, tail in self._patterns
        ):
            try:
                return origin.encode("latin-1")
            except UnicodeEncodeError:
                return None
        return None

    def preflight(self, request: Request, origin: str, method: str) -> Response:
        """The gateway's own answer to a preflight."""
        allowed = self.allow_origin(origin)
        if allowed is None or not self._method_allowed(method):
            return Response(204, [])
        if not self._any_header:
            requested = request.header("access-control-request-headers") or ""
            for name in requested.split(","):
                name = name.strip().lower()
                if name and name not in self._headers:
                    return Response(204, [])
        return Response(204, [(b"access-control-allow-origin", allowed), *self._preflight])

    def decorate(self, response: Response, origin: str) -> Response:
        """An answer to a CORS request, with the configuration's headers in place of any
        the function gave."""
        allowed = self.allow_origin(origin)
        kept = [header for header in response.headers if not header[0].startswith(_PREFIX)]
        if allowed is not None:
            kept += [(b"access-control-allow-origin", allowed), *self._actual]
        return Response(response.status, kept, response.body)

    def _method_allowed(self, method: str) -> bool:
        return self._any_method or method.upper() in self._methods


def is_preflight(request: Request) -> tuple[str, str] | None:
    """(origin, requested method) when the request is a CORS preflight."""
    if request.method != "OPTIONS":
        return None
    origin = request.header("origin")
    method = request.header("access-control-request-method")
    if origin is None or method is None:
        return None
    return origin, method
