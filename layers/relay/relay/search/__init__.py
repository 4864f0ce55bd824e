"""Search and autocomplete (seed exercise 3): suggestions, trending and search of posts
and people, from an index in plain Redis structures fed by durable events."""
