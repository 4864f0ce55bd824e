"""Who is a celebrity, decided in one place.

An author whose followers reach the celebrity threshold (relay.feed.rules) becomes a
celebrity: marked on their profile (the `Celebrities` index, which rebuilds read) and
added to the cached set of celebrities (which the read path pulls from). From then on
their posts are pulled by readers instead of fanned out. Once crossed, an author
stays one, whatever their followers do later (docs/decisions.md, "Feed").

It is checked where the count can have crossed the threshold: after a follow, and
when an author posts (a deployment may have lowered the threshold meanwhile).
"""

from __future__ import annotations

import dataclasses

from relay.feed.models import Profile
from relay.feed.profiles_table import ProfilesTable
from relay.feed.rules import Rules
from relay.feed.timeline_cache import TimelineCache
from relay.platform.cache import RedisGate


class Celebrities:
    def __init__(
        self, profiles: ProfilesTable, cache: TimelineCache, gate: RedisGate, rules: Rules
    ) -> None:
        self.profiles = profiles
        self.cache = cache
        self.gate = gate
        self.rules = rules

    def promoted(self, profile: Profile) -> Profile:
        """The profile, made a celebrity's first if its followers reached the threshold."""
        if profile.celebrity or not self.rules.is_celebrity(profile.followers):
            return profile
        self.profiles.mark_celebrity(profile.user_id)
        # Redis is a cache: the promotion stands in DynamoDB whether or not it answers.
        self.gate.attempt(lambda: self.cache.add_celebrity(profile.user_id))
        return dataclasses.replace(profile, celebrity=True)
