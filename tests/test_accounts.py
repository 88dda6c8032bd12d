"""Accounts: argon2id passwords, lock-out, sessions that end, roles, the audit trail, and ``takedown user``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from takedown.cli import app
from takedown.console.accounts import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    SESSION_IDLE,
    SESSION_LIFETIME,
    add_user,
    audit_subject,
    authenticate,
    end_session,
    require_role,
    session_user,
    set_password,
    set_user_disabled,
    start_session,
)
from takedown.errors import AuthenticationError, PermissionDeniedError, UsageError
from takedown.evidence import verify_chain
from takedown.models import Role, utcnow
from takedown.store.sqlite import SQLiteCaseStore
from takedown.testing import memory_store

PASSWORD = "correct horse battery staple"
runner = CliRunner()


@pytest.fixture
def store() -> SQLiteCaseStore:
    store = memory_store()
    add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim Officer",
             title="Deletion Support Officer", by="admin")
    return store


def test_passwords_are_argon2id_and_never_stored_in_clear(store: SQLiteCaseStore) -> None:
    user = store.get_user("kim")
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert user.password_hash not in repr(user), "never in a log line or a traceback"
    assert authenticate(store, "kim", PASSWORD).display_name == "Kim Officer"


@pytest.mark.parametrize(("password", "why"), [
    ("short", "at least 12"), ("aaaaaaaaaaaaaaaa", "different characters"), ("my-kim-password-1", "user name"),
])
def test_weak_passwords_are_refused(store: SQLiteCaseStore, password: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        add_user(store, "lee", password.replace("kim", "lee"), roles=["officer"], display_name="Lee", by="admin")


def test_bad_users_are_refused(store: SQLiteCaseStore) -> None:
    with pytest.raises(UsageError, match="exists already"):
        add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim", by="admin")
    with pytest.raises(UsageError, match="user name"):
        add_user(store, "Kim Officer", PASSWORD, roles=["officer"], display_name="Kim", by="admin")
    with pytest.raises(UsageError, match="unknown role"):
        add_user(store, "lee", PASSWORD, roles=["boss"], display_name="Lee", by="admin")
    with pytest.raises(UsageError, match="at least one role"):
        add_user(store, "lee", PASSWORD, roles=[], display_name="Lee", by="admin")


def test_every_failure_says_the_same_and_the_account_locks(store: SQLiteCaseStore) -> None:
    messages = set()
    for name, password in (("nobody", PASSWORD), ("kim", "wrong password 123")):
        with pytest.raises(AuthenticationError) as caught:
            authenticate(store, name, password)
        messages.add(str(caught.value))
    assert len(messages) == 1, "an unknown name and a wrong password read alike"
    now = utcnow()
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AuthenticationError):
            authenticate(store, "kim", "wrong password 123", now=now)
    locked = store.get_user("kim")
    assert locked.locked_until is not None and locked.locked_until == now + LOCKOUT
    with pytest.raises(AuthenticationError):  # the right password waits for the lock to end too
        authenticate(store, "kim", PASSWORD, now=now + timedelta(minutes=1))
    assert authenticate(store, "kim", PASSWORD, now=now + LOCKOUT + timedelta(seconds=1)).failed_logins == 0
    actions = [e.action for e in store.custody_log(audit_subject("kim"))]
    assert actions[0] == "user_added" and "account_locked" in actions and actions[-1] == "login"
    assert actions.count("login_failed") == MAX_FAILED_LOGINS + 1
    assert verify_chain(store.custody_log(audit_subject("kim"))) == []


def test_a_disabled_user_cannot_sign_in_and_their_sessions_end(store: SQLiteCaseStore) -> None:
    token, _ = start_session(store, authenticate(store, "kim", PASSWORD))
    set_user_disabled(store, "kim", disabled=True, by="admin", reason="left the team")
    with pytest.raises(AuthenticationError):
        session_user(store, token)
    with pytest.raises(AuthenticationError):
        authenticate(store, "kim", PASSWORD)
    with pytest.raises(UsageError, match="themselves"):
        set_user_disabled(store, "kim", disabled=True, by="kim")
    set_user_disabled(store, "kim", disabled=False, by="admin")
    assert authenticate(store, "kim", PASSWORD).username == "kim"


def test_sessions_hold_until_logout_idle_lifetime_or_a_password_change(store: SQLiteCaseStore) -> None:
    user = authenticate(store, "kim", PASSWORD)
    now = utcnow()
    token, session = start_session(store, user, now=now)
    assert session.token_sha256 != token and len(token) >= 40 and session.csrf_token
    assert session_user(store, token, now=now + timedelta(minutes=5))[0].username == "kim"
    # Used every 20 minutes, it lasts until its lifetime ends; idle past SESSION_IDLE, it ends.
    moment = now
    while moment + timedelta(minutes=20) < now + SESSION_LIFETIME:
        moment += timedelta(minutes=20)
        session_user(store, token, now=moment)
    with pytest.raises(AuthenticationError):
        session_user(store, token, now=now + SESSION_LIFETIME)
    idle, _ = start_session(store, user, now=now)
    with pytest.raises(AuthenticationError):
        session_user(store, idle, now=now + SESSION_IDLE + timedelta(seconds=1))
    out, _ = start_session(store, user)
    end_session(store, out)
    with pytest.raises(AuthenticationError):
        session_user(store, out)
    kept, _ = start_session(store, user)
    set_password(store, "kim", "a new long passphrase", by="admin")
    with pytest.raises(AuthenticationError):
        session_user(store, kept)
    for bad in ("", "x" * 500, "not-a-token"):
        with pytest.raises(AuthenticationError):
            session_user(store, bad)


def test_the_store_keeps_only_the_hash_of_a_session_token(tmp_path: Path) -> None:
    with SQLiteCaseStore(tmp_path / "takedown.sqlite") as store:
        add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim", by="admin")
        token, _ = start_session(store, authenticate(store, "kim", PASSWORD))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("takedown.sqlite*"))
    assert token.encode() not in raw and PASSWORD.encode() not in raw


def test_roles_are_checked(store: SQLiteCaseStore) -> None:
    officer = store.get_user("kim")
    require_role(officer, Role.OFFICER, Role.SUPERVISOR)
    with pytest.raises(PermissionDeniedError, match="admin"):
        require_role(officer, Role.ADMIN)
    auditor = add_user(store, "park", PASSWORD, roles=["auditor"], display_name="Park", by="admin")
    with pytest.raises(PermissionDeniedError):
        require_role(auditor, Role.OFFICER, Role.SUPERVISOR)


def test_takedown_user_commands(tmp_path: Path) -> None:
    env = {"TAKEDOWN_STORAGE__DATA_DIR": str(tmp_path / "data"), "TAKEDOWN_OFFICER": "Admin Choi"}
    added = runner.invoke(app, ["user", "add", "kim", "--name", "Kim Officer", "--title", "Deletion Support Officer",
                                "--role", "officer", "--role", "supervisor", "--password-stdin"],
                          input=PASSWORD + "\n", env=env)
    assert added.exit_code == 0, added.output
    weak = runner.invoke(app, ["user", "add", "lee", "--name", "Lee", "--role", "officer", "--password-stdin"],
                         input="short\n", env=env)
    assert weak.exit_code != 0 and "at least 12" in str(weak.exception)
    no_terminal = runner.invoke(app, ["user", "add", "lee", "--name", "Lee", "--role", "officer"], env=env)
    assert no_terminal.exit_code != 0 and "--password-stdin" in str(no_terminal.exception)
    listed = json.loads(runner.invoke(app, ["user", "list", "--json"], env=env).output)
    assert listed == [{"username": "kim", "display_name": "Kim Officer", "title": "Deletion Support Officer",
                       "roles": ["officer", "supervisor"], "locale": "ko", "disabled": False, "locked_until": None,
                       "failed_logins": 0}]
    changed = runner.invoke(app, ["user", "passwd", "kim", "--password-stdin"], input="another long secret\n",
                            env=env)
    assert changed.exit_code == 0, changed.output
    assert runner.invoke(app, ["user", "disable", "kim", "--reason", "on leave"], env=env).exit_code == 0
    table = runner.invoke(app, ["user", "list"], env=env)
    assert "disabled" in table.output and "$argon2" not in table.output
    with SQLiteCaseStore(tmp_path / "data" / "takedown.sqlite") as store:
        events = store.custody_log(audit_subject("kim"))
        assert [e.action for e in events] == ["user_added", "password_changed", "user_disabled"]
        assert {e.actor for e in events} == {"Admin Choi"}
        with pytest.raises(AuthenticationError):
            authenticate(store, "kim", "another long secret")


def test_an_approval_from_the_cli_can_be_tied_to_a_signed_in_user(tmp_path: Path) -> None:
    from takedown.models import FindingState, Notice, NoticeState, Recipient
    from takedown.report.jurisdictions import get_jurisdiction
    from takedown.testing import sample_finding

    data = tmp_path / "data"
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim Officer", by="admin")
        add_user(store, "park", PASSWORD, roles=["auditor"], display_name="Park Auditor", by="admin")
        finding = sample_finding(state=FindingState.DRAFTED)
        store.add_finding(finding)
        notices = [Notice(case_id=finding.case_id, finding_id=finding.id, recipient=Recipient(address=address),
                          jurisdiction="UK", locale="en", subject="s", body_text=finding.candidate.url,
                          legal=dict.fromkeys(get_jurisdiction("UK").required_fields, "given"))
                   for address in ("a@mock.example", "b@mock.example")]
        for notice in notices:
            store.add_notice(notice)
    env = {"TAKEDOWN_STORAGE__DATA_DIR": str(data)}
    wrong = runner.invoke(app, ["approve", notices[0].id, "--user", "kim", "--password-stdin"],
                          input="not the password\n", env=env)
    assert wrong.exit_code != 0 and isinstance(wrong.exception, AuthenticationError)
    auditor = runner.invoke(app, ["approve", notices[0].id, "--user", "park", "--password-stdin"],
                            input=PASSWORD + "\n", env=env)
    assert auditor.exit_code != 0 and isinstance(auditor.exception, PermissionDeniedError)
    done = runner.invoke(app, ["approve", notices[0].id, "--user", "kim", "--password-stdin", "--by", "Someone Else"],
                         input=PASSWORD + "\n", env=env)
    assert done.exit_code == 0, done.output
    plain = runner.invoke(app, ["approve", notices[1].id, "--by", "Officer Lee"], env=env)
    assert plain.exit_code == 0, plain.output
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        signed, named = (store.get_notice(n.id) for n in notices)
        assert signed.state is NoticeState.APPROVED and signed.approved_by == "Kim Officer", "not --by's name"
        event = store.custody_log(signed.id)[-1]
        assert event.details["user"] == "kim" and event.details["authenticated"] == "password"
        assert named.approved_by == "Officer Lee"
        assert store.custody_log(named.id)[-1].details["authenticated"] == "none"
        assert "login" in [e.action for e in store.custody_log(audit_subject("kim"))]


def test_under_the_four_eyes_rule_the_cli_needs_two_signed_in_officers(tmp_path: Path) -> None:
    from takedown.models import FindingState, Notice, NoticeState, Recipient
    from takedown.report.jurisdictions import get_jurisdiction
    from takedown.testing import sample_finding

    data = tmp_path / "data"
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        add_user(store, "kim", PASSWORD, roles=["officer"], display_name="Kim Officer", by="admin")
        add_user(store, "lee", PASSWORD, roles=["officer"], display_name="Lee Officer", by="admin")
        finding = sample_finding(state=FindingState.DRAFTED)
        store.add_finding(finding)
        notice = Notice(case_id=finding.case_id, finding_id=finding.id, recipient=Recipient(address="a@mock.example"),
                        jurisdiction="UK", locale="en", subject="s", body_text=finding.candidate.url,
                        legal=dict.fromkeys(get_jurisdiction("UK").required_fields, "given"))
        store.add_notice(notice)
    env = {"TAKEDOWN_STORAGE__DATA_DIR": str(data), "TAKEDOWN_CONSOLE__FOUR_EYES": "*"}
    unsigned = runner.invoke(app, ["approve", notice.id, "--by", "Officer Lee"], env=env)
    assert unsigned.exit_code == 1 and "--user" in unsigned.output
    args = ["approve", notice.id, "--password-stdin", "--user"]
    first = runner.invoke(app, [*args, "kim"], input=PASSWORD + "\n", env=env)
    assert first.exit_code == 0 and "First approval" in first.output and "Send with" not in first.output
    twice = runner.invoke(app, [*args, "kim"], input=PASSWORD + "\n", env=env)
    assert twice.exit_code == 1 and "second, different officer" in twice.output
    second = runner.invoke(app, [*args, "lee"], input=PASSWORD + "\n", env=env)
    assert second.exit_code == 0 and "Approved" in second.output, second.output
    with SQLiteCaseStore(data / "takedown.sqlite") as store:
        approved = store.get_notice(notice.id)
        assert approved.state is NoticeState.APPROVED and approved.approved_by == "Lee Officer"


def test_oversized_input_is_refused_before_hashing(store: SQLiteCaseStore) -> None:
    import time

    from takedown.console.accounts import MAX_PASSWORD_LENGTH

    started = time.perf_counter()
    with pytest.raises(AuthenticationError):
        authenticate(store, "kim", PASSWORD + "x" * 5_000_000)
    assert time.perf_counter() - started < 2, "megabytes are not hashed"
    with pytest.raises(UsageError, match="at most"):
        add_user(store, "lee", "y" * (MAX_PASSWORD_LENGTH + 1) + "abcd", roles=["officer"], display_name="Lee",
                 by="admin")
