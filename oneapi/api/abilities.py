"""The ``abilities`` routing index: one row per (group, model, channel).

One API rebuilds a channel's rows on every save (delete, then add each group with each model), with
``enabled`` mirroring "channel status is 1" and the channel's priority copied in, so the
relay can pick channels by (group, model) without reading the channels table.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlmodel import Session, col

from oneapi.db.models import Ability, Channel, Status

__all__ = ("delete_abilities", "rebuild_abilities", "set_channel_status", "split_list")


def split_list(value: str | None) -> list[str]:
    """A comma-separated list, trimmed, without empties or repeats, order kept."""
    seen: dict[str, None] = {}
    for item in (value or "").split(","):
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def delete_abilities(session: Session, channel_id: int) -> None:
    session.exec(delete(Ability).where(col(Ability.channel_id) == channel_id))


def rebuild_abilities(session: Session, channel: Channel) -> None:
    """Replace the channel's rows with its current groups, models, status and priority."""
    assert channel.id is not None
    delete_abilities(session, channel.id)
    enabled = channel.status == Status.ENABLED
    for group in split_list(channel.group):
        for model in split_list(channel.models):
            session.add(Ability(group=group, model=model, channel_id=channel.id, enabled=enabled,
                                priority=channel.priority or 0))


def set_channel_status(session: Session, channel: Channel, status: int) -> None:
    """Change a channel's status and its abilities' ``enabled`` flag together."""
    assert channel.id is not None
    channel.status = status
    session.add(channel)
    session.exec(update(Ability).where(col(Ability.channel_id) == channel.id)
                 .values(enabled=status == Status.ENABLED))
