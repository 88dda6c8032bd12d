"""Politeness and persistence for site adapters: a per-host limiter and a retry policy.

``HostLimiter`` keeps at most ``concurrency`` requests in flight to one host and spaces them to ``rate`` per
second (a token bucket that allows ``burst`` at once; loopback hosts are not rate-limited). ``RetryPolicy``
with ``retrying`` tries again after transient failures with exponential backoff and full jitter, or after the
wait a server asked for (``Retry-After``), capped. Neither knows about httpx: a ``Clock`` is injected so that
tests need not sleep.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random as _random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from takedown.settings import NetworkSettings

__all__ = [
    "Clock",
    "HostLimiter",
    "Retry",
    "RetryPolicy",
    "SystemClock",
    "parse_retry_after",
    "retrying",
]

T = TypeVar("T")


class Clock(Protocol):
    """Where the limiter and retries read the time and how they wait (tests pass a fake one)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """Seconds on the system's monotonic clock."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the event loop."""
        await asyncio.sleep(seconds)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class HostLimiter:
    """At most ``concurrency`` requests in flight per host, started at most ``rate`` per second after a burst.

    Use ``async with limiter.slot(host): ...`` around one request. Hosts are independent. One limiter may be
    shared by several adapters so that together they stay polite to a host.

    Args:
        concurrency: requests in flight at once to one host.
        rate: requests started per second per host; ``0`` means no rate limit.
        burst: how many requests a host that was idle may get at once.
        clock: the time source (default: the system clock).
        limit_loopback_rate: also rate-limit ``localhost``, ``127.0.0.0/8`` and ``::1``. Off by default: the rate
            limit is politeness towards other people's sites, and a loopback server is the caller's own (the
            demo, tests). The concurrency limit applies to every host.
    """

    def __init__(
        self,
        *,
        concurrency: int = 2,
        rate: float = 4.0,
        burst: int = 8,
        clock: Clock | None = None,
        limit_loopback_rate: bool = False,
    ) -> None:
        if concurrency < 1 or rate < 0 or burst < 1:
            raise ValueError("concurrency and burst must be at least 1 and rate at least 0")
        self.concurrency = concurrency
        self.rate = rate
        self.burst = burst
        self.limit_loopback_rate = limit_loopback_rate
        self.clock: Clock = clock or SystemClock()
        self._buckets: dict[str, _Bucket] = {}
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def for_network(cls, network: NetworkSettings, *, clock: Clock | None = None) -> HostLimiter:
        """The limiter ``network`` asks for."""
        return cls(
            concurrency=network.per_host_concurrency, rate=network.per_host_rate, burst=network.per_host_burst,
            clock=clock,
        )

    def _semaphore(self, host: str) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # semaphores belong to one event loop; an adapter may outlive its loop
            self._loop, self._semaphores = loop, {}
        if host not in self._semaphores:
            self._semaphores[host] = asyncio.Semaphore(self.concurrency)
        return self._semaphores[host]

    async def _take_token(self, host: str) -> None:
        if self.rate == 0 or (not self.limit_loopback_rate and _is_loopback(host)):
            return
        now = self.clock.monotonic()
        bucket = self._buckets.setdefault(host, _Bucket(tokens=float(self.burst), updated=now))
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        # Reserve a token now, even into debt, so that waiters are served in the order they came.
        bucket.tokens -= 1
        if bucket.tokens < 0:
            await self.clock.sleep(-bucket.tokens / self.rate)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Wait until a request to ``host`` may start; the slot is held until the block ends."""
        key = host.lower()
        async with self._semaphore(key):
            await self._take_token(key)
            yield


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class RetryPolicy(BaseModel):
    """When and how long to wait before trying a request again."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    retries: int = Field(default=3, ge=0, description="tries after the first")
    backoff_s: float = Field(default=0.5, ge=0, description="the first backoff is drawn from [0, backoff_s]")
    max_backoff_s: float = Field(default=30.0, ge=0)
    max_retry_after_s: float = Field(default=60.0, ge=0, description="a server's Retry-After is cut to this")
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    @classmethod
    def for_network(cls, network: NetworkSettings) -> RetryPolicy:
        """The policy ``network`` asks for."""
        return cls(
            retries=network.retries, backoff_s=network.backoff_s, max_backoff_s=network.max_backoff_s,
            max_retry_after_s=network.max_retry_after_s,
        )

    def delay(self, retry: int, *, retry_after: float | None = None, random: Callable[[], float] = _random.random
              ) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first).

        A server's ``retry_after`` wins, capped at ``max_retry_after_s``; otherwise full jitter: a uniform draw
        from ``[0, min(max_backoff_s, backoff_s * 2**retry)]``, so that many clients do not retry in step.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        ceiling = min(self.max_backoff_s, self.backoff_s * 2.0 ** min(retry, 62))
        return random() * ceiling


@dataclass(frozen=True)
class Retry:
    """What a ``decide`` function returns for a result that should be tried again.

    Attributes:
        reason: why, for logs and error messages (e.g. ``"HTTP 503"``).
        after_s: the wait the server asked for (``Retry-After``), if any.
    """

    reason: str
    after_s: float | None = None


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    decide: Callable[[T], Retry | None] | None = None,
    retry_on: Callable[[Exception], bool] | None = None,
    clock: Clock | None = None,
    random: Callable[[], float] = _random.random,
) -> T:
    """Run ``attempt`` until it succeeds or the policy's retries are spent.

    Args:
        attempt: makes one try; called again for each retry.
        policy: how many retries and how long to wait between them.
        decide: looks at a result and returns a ``Retry`` to try again, or ``None`` to accept it.
        retry_on: says whether an exception ``attempt`` raised is transient (default: none is).
        clock: how to wait (default: the system clock).
        random: a draw from [0, 1) for the jitter.

    Returns:
        The first accepted result, or the last result once the retries are spent (the caller sees, say, the
        final HTTP 503).

    Raises:
        Exception: what the last try raised, when it was not transient or the retries are spent.
    """
    clock = clock or SystemClock()
    retry = 0
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if retry >= policy.retries or retry_on is None or not retry_on(exc):
                raise
            wait = policy.delay(retry, random=random)
        else:
            verdict = decide(result) if decide is not None else None
            if verdict is None or retry >= policy.retries:
                return result
            wait = policy.delay(retry, retry_after=verdict.after_s, random=random)
        retry += 1
        await clock.sleep(wait)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: delay-seconds or an HTTP date (RFC 9110 10.2.3).

    Returns ``None`` for a missing or unreadable value; a date in the past is ``0``.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
