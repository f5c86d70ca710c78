"""Users, tokens and channels written straight into a gateway's database for tests.

The management API owns these writes in production; tests of the relay seed rows
directly (abilities included, one per group x model, as the channel API builds them).
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select
from sqlmodel import Session

from oneapi.db.migrate import upgrade
from oneapi.db.models import Ability, Channel, Log, Role, Status, Token, TokenStatus, User
from oneapi.security import generate_token_key

__all__ = ("Seed", "seed_database")


class Seed:
    """Writes rows into the SQLite database a gateway under test uses."""

    def __init__(self, sqlite_path: Path) -> None:
        self.engine: Engine = create_engine(f"sqlite:///{sqlite_path}")
        upgrade(self.engine)

    def _add(self, row: Any) -> Any:
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    def user(self, username: str | None = None, *, quota: int = 10**9, role: int = Role.COMMON,
             group: str = "default", status: int = Status.ENABLED, access_token: str | None = None) -> User:
        return self._add(User(username=username or f"u{secrets.token_hex(4)}", password="x", role=role,
                              quota=quota, group=group, status=status, access_token=access_token))

    def token(self, user: User, *, remain_quota: int = 10**8, unlimited: bool = False, models: str = "",
              subnet: str = "", expired_time: int = -1, status: int = TokenStatus.ENABLED,
              name: str = "test") -> str:
        key = generate_token_key()
        self._add(Token(user_id=user.id, key=key, name=name, status=status, created_time=int(time.time()),
                        expired_time=expired_time, remain_quota=remain_quota, unlimited_quota=unlimited,
                        models=models, subnet=subnet))
        return "sk-" + key

    def channel(self, base_url: str, models: list[str], *, type: int = 1, key: str = "sk-upstream-secret",
                group: str = "default", priority: int = 0, weight: int = 0,
                model_mapping: dict[str, str] | None = None, config: dict[str, Any] | None = None,
                name: str = "", status: int = Status.ENABLED, other: str = "") -> Channel:
        channel = self._add(Channel(type=type, key=key, status=status, name=name or f"ch-{models[0]}",
                                    weight=weight, base_url=base_url, models=",".join(models), group=group,
                                    priority=priority, created_time=int(time.time()),
                                    model_mapping=json.dumps(model_mapping) if model_mapping else "",
                                    config=json.dumps(config) if config else "", other=other))
        with Session(self.engine) as session:
            for each_group in group.split(","):
                for model in models:
                    session.add(Ability(group=each_group, model=model, channel_id=channel.id,
                                        enabled=status == Status.ENABLED, priority=priority))
            session.commit()
        return channel

    # -- reading back ------------------------------------------------------------------
    def get(self, model: type[Any], key: Any) -> Any:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(model, key)

    def token_row(self, key: str) -> Token:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.scalars(select(Token).where(Token.key == key.removeprefix("sk-"))).one()

    def wait_remain(self, key: str, expected: int, timeout: float = 10.0) -> int:
        """The token's remaining quota once it equals ``expected`` (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while True:
            remain = self.token_row(key).remain_quota
            if remain == expected or time.monotonic() > deadline:
                return remain
            time.sleep(0.05)

    def logs(self, token_id: int) -> list[Log]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.scalars(select(Log).where(Log.token_id == token_id).order_by(Log.id)))

    def log_count(self) -> int:
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(Log)) or 0)

    def wait_logs(self, key: str, count: int, timeout: float = 10.0) -> list[Log]:
        """The token's consume logs once ``count`` of them are written (or the timeout passes)."""
        token_id = self.token_row(key).id
        deadline = time.monotonic() + timeout
        while True:
            logs = self.logs(token_id)
            if len(logs) >= count or time.monotonic() > deadline:
                return logs  # a log row and its quota change are written in one transaction
            time.sleep(0.05)


def seed_database(sql_dsn: str) -> Seed:
    """A :class:`Seed` writing into the PostgreSQL or MySQL database ``sql_dsn`` names."""
    from oneapi.db.dsn import parse_dsn

    seed = Seed.__new__(Seed)
    seed.engine = create_engine(parse_dsn(sql_dsn).url)
    upgrade(seed.engine)
    return seed
