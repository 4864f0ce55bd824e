"""PreferencesTable: each person's notification preferences, one item per user.

`userId` is the key; `channels` (JSON), `timeZone`, and `quietStart`/`quietEnd` when
quiet hours are set. A person who never set any has no item: the defaults apply.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from relay.notify.preferences import Preferences, QuietHours
from relay.platform.dynamo import Item, Table, batch_get, s


def _of(item: Item) -> Preferences:
    quiet = None
    if "quietStart" in item and "quietEnd" in item:
        quiet = QuietHours(item["quietStart"]["S"], item["quietEnd"]["S"])
    return Preferences(
        channels=json.loads(item.get("channels", {}).get("S", "{}")),
        time_zone=item["timeZone"]["S"],
        quiet_hours=quiet,
    )


class PreferencesTable(Table):
    def get(self, user_id: str) -> Preferences:
        answer = self.client.get_item(TableName=self.name, Key={"userId": s(user_id)})
        return _of(answer["Item"]) if "Item" in answer else Preferences()

    def of_users(self, user_ids: Iterable[str]) -> dict[str, Preferences]:
        """Each user's preferences (the defaults for those who set none): one read per 100."""
        users = list(dict.fromkeys(user_ids))
        found = batch_get(self.client, {self.name: [{"userId": s(u)} for u in users]})
        stored = {item["userId"]["S"]: _of(item) for item in found[self.name]}
        return {user: stored.get(user, Preferences()) for user in users}

    def put(self, user_id: str, preferences: Preferences) -> None:
        item: Item = {
            "userId": s(user_id),
            "channels": s(json.dumps(preferences.channels, sort_keys=True)),
            "timeZone": s(preferences.time_zone),
        }
        if preferences.quiet_hours is not None:
            item["quietStart"] = s(preferences.quiet_hours.start)
            item["quietEnd"] = s(preferences.quiet_hours.end)
        self.client.put_item(TableName=self.name, Item=item)
