"""The URL shortener (seed example 1): links, codes, redirects, clicks and analytics."""
