"""First-boot work: the root account, initial tokens and the session secret.

Runs after migrations on every boot and is idempotent: a second boot (or a second
replica) finds the root user and the stored secret and changes nothing. The root's
password hash may be computed beforehand and passed in, so that a first boot need not wait
for it (:meth:`oneapi.runtime.Runtime.prepare_database`).

Root's initial password is hashed at bcrypt cost :data:`ROOT_BCRYPT_ROUNDS` = 10, not the
:data:`~oneapi.security.BCRYPT_ROUNDS` = 12 of every other hash: 10 is one-api's own cost
(Go's ``bcrypt.DefaultCost``, what every one-api database holds) and OWASP's floor for
bcrypt, still a real KDF (2^10 rounds of Blowfish's key schedule), and it costs 0.06 s of CPU
instead of 0.24 s: on a free host capped at a tenth of a CPU, 0.6 s of a first boot instead
of 2.4 s. The hash lives at cost 10 only until root's first login, which rehashes it at 12
as it does one-api's hashes (:func:`~oneapi.security.password_needs_rehash`); and until then
the password is most often the documented default ``123456``, which no cost protects.

For that default the hash is not computed at all: :data:`DEFAULT_ROOT_PASSWORD_HASH` is a
bcrypt hash of ``123456`` at cost 10, made once with a random salt and kept here. Every new
database then starts with the same hash string, which says no more than the password it stands
for, public since one-api's first release (anyone holding the hash can test ``123456`` against
it in 0.06 s, as anyone can try it at the login form), and root's first login replaces it with
a hash at cost 12 and a salt of its own. It saves the 0.06 s of bcrypt (about 250 M instructions)
that a first boot otherwise spends on it: on a free host capped at a tenth of a CPU, most of a
second before its first visitor is answered.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from oneapi.config import DEFAULT_ROOT_PASSWORD, Settings
from oneapi.db.models import Option, Role, Status, Token, TokenStatus, User
from oneapi.security import generate_access_token, generate_aff_code, generate_secret, hash_password

__all__ = ("DEFAULT_ROOT_PASSWORD_HASH", "ROOT_BCRYPT_ROUNDS", "SESSION_SECRET_OPTION", "bootstrap",
           "ensure_root", "ensure_session_secret", "reset_root_password", "root_missing",
           "root_password_hash")

log = logging.getLogger("oneapi.bootstrap")

SESSION_SECRET_OPTION = "SessionSecret"
ROOT_QUOTA = 500_000_000_000_000
ROOT_BCRYPT_ROUNDS = 10
DEFAULT_ROOT_PASSWORD_HASH = "$2b$10$29fQKQ1rmAq6R9OcWgfzKu0p1qiEf0tiq6199Svvf09NSQKjXD052"


def bootstrap(session: Session, settings: Settings) -> str:
    """Create root if there are no users; return the session secret to sign cookies with."""
    ensure_root(session, settings)
    return ensure_session_secret(session, settings)


def root_missing(session: Session) -> bool:
    """No user at all: this is the first boot of this database."""
    return session.exec(select(func.count()).select_from(User)).one() == 0


def root_password_hash(settings: Settings) -> str:
    """INITIAL_ROOT_PASSWORD's hash at :data:`ROOT_BCRYPT_ROUNDS`; the default's is kept, not
    computed (see the module's docstring)."""
    if settings.initial_root_password == DEFAULT_ROOT_PASSWORD:
        return DEFAULT_ROOT_PASSWORD_HASH
    return hash_password(settings.initial_root_password, ROOT_BCRYPT_ROUNDS)


def ensure_root(session: Session, settings: Settings, password_hash: str | None = None) -> None:
    """Create root when there are no users; ``password_hash`` defaults to INITIAL_ROOT_PASSWORD's."""
    if not root_missing(session):
        return
    root = User(
        username="root",
        password=password_hash or root_password_hash(settings),
        display_name="Root User",
        role=Role.ROOT,
        status=Status.ENABLED,
        quota=ROOT_QUOTA,
        access_token=_initial_access_token(settings),
        aff_code=generate_aff_code(),
    )
    session.add(root)
    try:
        session.flush()
    except IntegrityError:  # another replica created it first
        session.rollback()
        return
    if settings.initial_root_token:
        key = settings.initial_root_token.removeprefix("sk-")
        session.add(Token(user_id=root.id or 0, key=key, name="Initial Root Token",
                          status=TokenStatus.ENABLED,
                          created_time=int(time.time()), accessed_time=int(time.time()), expired_time=-1,
                          unlimited_quota=True))
    session.commit()
    if settings.initial_root_password == DEFAULT_ROOT_PASSWORD:
        log.warning("!" * 72)
        log.warning("no user existed: created user 'root' with the DEFAULT password '%s'.",
                    DEFAULT_ROOT_PASSWORD)
        log.warning("log in and change it now (web UI: personal settings), or run "
                    "'oneapi reset-root-password' / set INITIAL_ROOT_PASSWORD before first boot.")
        log.warning("!" * 72)
    else:
        log.warning("no user existed: created user 'root' with the password from INITIAL_ROOT_PASSWORD")


def _initial_access_token(settings: Settings) -> str:
    return settings.initial_root_access_token or generate_access_token()


def ensure_session_secret(session: Session, settings: Settings) -> str:
    """SESSION_SECRET from env, else one generated once and kept in ``options``."""
    if settings.session_secret and settings.session_secret != "random_string":
        return settings.session_secret
    if settings.session_secret == "random_string":
        log.error("SESSION_SECRET='random_string' is the documented placeholder; ignoring it")
    stored = session.get(Option, SESSION_SECRET_OPTION)
    if stored is not None and stored.value:
        return stored.value
    secret = generate_secret()
    session.add(Option(key=SESSION_SECRET_OPTION, value=secret))
    try:
        session.commit()
    except IntegrityError:  # another replica stored one first: use theirs
        session.rollback()
        stored = session.get(Option, SESSION_SECRET_OPTION)
        assert stored is not None and stored.value
        return stored.value
    log.info("generated a session secret and stored it in the options table")
    return secret


def reset_root_password(session: Session, password: str) -> None:
    """Set the root user's password (CLI recovery path); root's sessions and access token end, and
    two-factor sign-in is turned off (whoever runs this on the server may lock root out no more)."""
    root = session.exec(select(User).where(User.role == Role.ROOT).order_by(col(User.id))).first()
    if root is None:
        raise LookupError("there is no root user; start the server once to create it")
    root.password = hash_password(password)
    root.end_sessions(access_token=True)
    root.status = Status.ENABLED
    root.totp_enabled, root.totp_secret, root.totp_recovery = False, "", None
    session.add(root)
    session.commit()
