"""Signed-out sessions: the mark in Redis refuses tokens issued before it, and a Redis that
is down or hangs lets requests through (fail open, counted) instead of failing them."""

import socket
import threading

import pytest
import redis

from relay.platform.cache import RedisGate
from relay.platform.errors import Unauthorized
from relay.platform.sessions import ACCESS_TOKEN_TTL_S, Sessions
from tests.support.clock import FrozenClock


class Counted:
    def __init__(self):
        self.times = 0

    def __call__(self):
        self.times += 1


def sessions_on(client, clock=None):
    counted = Counted()
    return Sessions(client, RedisGate(clock or FrozenClock(), counted)), counted


def test_a_token_issued_before_a_sign_out_is_refused_and_a_later_one_is_not(redis_client):
    sessions, failed_open = sessions_on(redis_client)

    sessions.check("alice", 1_000)  # nothing marked yet
    assert sessions.end("alice", 2_000) is True

    for issued in (1_000, 2_000):
        with pytest.raises(Unauthorized) as error:
            sessions.check("alice", issued)
        assert (error.value.status, error.value.code) == (401, "session_ended")
    sessions.check("alice", 2_001)  # signed in again after signing out
    sessions.check("bob", 1_000)  # someone else's mark is not yours
    assert failed_open.times == 0


def test_the_mark_lives_as_long_as_an_access_token_can(redis_client):
    sessions, _ = sessions_on(redis_client)
    sessions.end("alice", 2_000)

    ttl = redis_client.ttl("relay:signed-out:alice")

    assert ACCESS_TOKEN_TTL_S - 5 <= ttl <= ACCESS_TOKEN_TTL_S


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again: connecting is refused


class Hanging:
    """A server that accepts connections and never answers."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self):
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def hanging():
    server = Hanging()
    yield server
    server.close()


@pytest.mark.parametrize("kind", ["refused", "hanging"])
def test_without_redis_the_check_lets_the_request_through_and_counts_it(kind, request):
    port = request.getfixturevalue("hanging").port if kind == "hanging" else _refused_port()
    client = redis.Redis(port=port, socket_timeout=0.05, socket_connect_timeout=0.05)
    clock = FrozenClock()
    sessions, failed_open = sessions_on(client, clock)

    sessions.check("alice", 1_000)  # tries Redis, fails, shuts the gate
    sessions.check("alice", 1_000)  # the gate is shut: no wait at all
    assert sessions.end("alice", 2_000) is False  # and the caller can say so

    assert failed_open.times == 3
    client.close()
