"""The one error a template can cause: something the local stack cannot serve faithfully.

Its own module (standard library only) so that `relay` can catch it without
loading the template machinery on paths that never read a template.
"""

from __future__ import annotations


class TemplateError(Exception):
    """The template asks for something the local stack cannot serve faithfully."""
