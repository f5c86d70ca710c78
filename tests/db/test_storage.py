"""One storage suite, run on SQLite, PostgreSQL and MySQL alike."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from oneapi.bootstrap import bootstrap
from oneapi.config import load_settings
from oneapi.db.engine import make_engine, target_from_settings
from oneapi.db.migrate import HEAD_REVISION, current_revision, head_revision, upgrade
from oneapi.db.models import Ability, Channel, Log, LogType, Option, Redemption, Role, Token, User
from oneapi.security import verify_password
from tests.db.one_api_ddl import one_api_ddl
from tests.support.db import get_engine

pytestmark = pytest.mark.usefixtures("db_env")

TABLES = {"users", "tokens", "channels", "abilities", "logs", "options", "redemptions"}


def _fresh_engine() -> sa.Engine:
    engine = get_engine()
    upgrade(engine)
    return engine


def test_migration_from_empty_creates_every_table() -> None:
    engine = get_engine()
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    log_columns = {column["name"] for column in sa.inspect(engine).get_columns("logs")}
    assert {"token_id", "other", "elapsed_time", "request_id"} <= log_columns


def test_head_constant_matches_the_migration_scripts() -> None:
    assert head_revision() == HEAD_REVISION


def test_migration_twice_is_a_no_op() -> None:
    engine = _fresh_engine()
    with Session(engine) as session:
        session.add(Option(key="SystemName", value="kept"))
        session.commit()
    assert upgrade(engine) == head_revision()
    with Session(engine) as session:
        assert session.get(Option, "SystemName").value == "kept"


def test_concurrent_migrations_take_turns() -> None:
    """Two replicas booting at once: both reach head, neither fails."""
    settings = load_settings()
    engines = [make_engine(target_from_settings(settings), settings) for _ in range(2)]
    results: list[str] = []
    errors: list[BaseException] = []

    def migrate(engine: sa.Engine) -> None:
        try:
            results.append(upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    assert results == [head_revision(), head_revision()]


def test_crud_on_every_table() -> None:
    engine = _fresh_engine()
    now = int(time.time())
    with Session(engine, expire_on_commit=False) as session:
        user = User(username="alice", password="x", display_name="Alice", role=Role.COMMON, quota=1000,
                    group="vip", email="alice@example.com")
        session.add(user)
        session.commit()
        token = Token(user_id=user.id, key="k" * 48, name="t1", created_time=now, remain_quota=500,
                      models="gpt-4o,gpt-4o-mini", subnet="10.0.0.0/8")
        channel = Channel(type=1, key="sk-upstream", name="c1", models="gpt-4o", group="default,vip",
                          priority=5, weight=3, model_mapping='{"a":"b"}', base_url="http://127.0.0.1:9")
        session.add_all([token, channel])
        session.commit()
        session.add_all([
            Ability(group="vip", model="gpt-4o", channel_id=channel.id, enabled=True, priority=5),
            Log(user_id=user.id, created_at=now, type=LogType.CONSUME, username="alice", token_name="t1",
                model_name="gpt-4o", quota=42, prompt_tokens=10, completion_tokens=5, channel_id=channel.id,
                request_id="r1", elapsed_time=120, is_stream=True, token_id=token.id, other='{"retry":[1]}'),
            Option(key="RetryTimes", value="3"),
            Redemption(user_id=user.id, key="r" * 32, name="gift", quota=100, created_time=now),
        ])
        session.commit()

    with Session(engine, expire_on_commit=False) as session:
        assert session.exec(select(User).where(User.username == "alice")).one().group == "vip"
        stored_token = session.exec(select(Token).where(Token.key == "k" * 48)).one()
        assert (stored_token.remain_quota, stored_token.expired_time,
                stored_token.unlimited_quota) == (500, -1, False)
        stored_channel = session.exec(select(Channel)).one()
        assert (stored_channel.priority, stored_channel.weight, stored_channel.group) == (5, 3, "default,vip")
        ability = session.exec(select(Ability)).one()
        assert (ability.group, ability.model, ability.enabled) == ("vip", "gpt-4o", True)
        log = session.exec(select(Log)).one()
        assert (log.quota, log.is_stream, log.other) == (42, True, '{"retry":[1]}')
        assert session.get(Option, "RetryTimes").value == "3"
        assert session.exec(select(Redemption)).one().quota == 100

        # update
        stored_token.remain_quota = 7
        stored_channel.status = 2
        session.add_all([stored_token, stored_channel])
        session.commit()
        session.execute(sa.update(User).where(User.username == "alice")
                        .values(used_quota=User.used_quota + 5))
        session.commit()
    with Session(engine) as session:
        assert session.exec(select(Token)).one().remain_quota == 7
        assert session.exec(select(Channel)).one().status == 2
        assert session.exec(select(User).where(User.username == "alice")).one().used_quota == 5
        # delete
        for model in (Ability, Log, Option, Redemption, Token, Channel, User):
            session.execute(sa.delete(model))
        session.commit()
        for model in (Ability, Log, Option, Redemption, Token, Channel, User):
            assert session.exec(select(model)).first() is None


@pytest.mark.parametrize(
    "make_row",
    [
        lambda: User(username="dup", password="x"),
        lambda: Token(key="same" * 12),
        lambda: Redemption(key="c" * 32),
        lambda: Option(key="A", value="1"),
        lambda: Ability(group="default", model="m", channel_id=1),
    ],
    ids=["username", "token key", "redemption key", "option key", "ability"],
)
def test_unique_keys(make_row: Callable[[], SQLModel]) -> None:
    engine = _fresh_engine()
    with Session(engine) as session:
        session.add(make_row())
        session.commit()
    with Session(engine) as session:
        session.add(make_row())
        with pytest.raises(IntegrityError):
            session.commit()


def test_adopts_a_database_made_by_one_api() -> None:
    """Tables made with one-api's DDL and holding rows: adopted, nothing lost."""
    engine = get_engine()
    with engine.begin() as connection:
        for statement in one_api_ddl(engine.dialect.name):
            connection.execute(sa.text(statement))
        quote = "`" if engine.dialect.name == "mysql" else '"'
        connection.execute(sa.text(
            "INSERT INTO users (username, password, display_name, role, status, quota, "
            f"{quote}group{quote}, access_token, aff_code) VALUES "
            "('root', '$2a$10$VKQB3pZ9eNHadeB85Le5BOkDfYPQkvPkPsfH1AFWnozQEW5b8Jfjm', 'Root', 100, 1, 5000, "
            "'default', 'abcdefabcdefabcdefabcdefabcdefab', 'Zx9q')"))
        connection.execute(sa.text(
            f"INSERT INTO tokens (user_id, {quote}key{quote}, status, name, expired_time, remain_quota, "
            "unlimited_quota, used_quota) VALUES (1, :key, 1, 'legacy', -1, 900, false, 100)"),
            {"key": "L" * 48})
        connection.execute(sa.text(
            "INSERT INTO logs (user_id, created_at, type, content, username, model_name, quota) "
            "VALUES (1, 1700000000, 2, 'old row', 'root', 'gpt-4', 77)"))

    assert upgrade(engine) == head_revision()

    with Session(engine) as session:
        root = session.exec(select(User).where(User.username == "root")).one()
        assert (root.quota, root.role, root.aff_code) == (5000, 100, "Zx9q")
        assert verify_password("123456", root.password)  # one-api's $2a$ bcrypt hash
        legacy = session.exec(select(Token)).one()
        assert (legacy.key, legacy.remain_quota, legacy.used_quota) == ("L" * 48, 900, 100)
        old_log = session.exec(select(Log)).one()
        assert (old_log.content, old_log.quota, old_log.token_id) == ("old row", 77, 0)
        session.add(Log(user_id=1, type=LogType.CONSUME, other='{"retry": []}', token_id=1))
        session.commit()
        assert len(session.exec(select(Log)).all()) == 2


def test_bootstrap_creates_root_once_and_keeps_the_secret() -> None:
    engine = _fresh_engine()
    settings = load_settings()
    with Session(engine) as session:
        first_secret = bootstrap(session, settings)
    with Session(engine) as session:
        second_secret = bootstrap(session, settings)
        roots = session.exec(select(User)).all()
    assert first_secret == second_secret and len(first_secret) >= 32
    assert [(user.username, user.role) for user in roots] == [("root", Role.ROOT)]
    assert verify_password("123456", roots[0].password)
