"""Small subjects for the harness's own tests: a correct write-through, a cache-first one,
and subjects that misbehave in the ways bad input can (raise, hang, leave threads)."""

from __future__ import annotations

import threading
import time


class WriteThrough:
    """DB first; on any DB error invalidate before raising; every entry has a TTL."""

    def __init__(self, env):
        self.env = env

    def _invalidate(self, key):
        try:
            self.env.cache.delete(key)
        except (ConnectionError, TimeoutError):
            pass

    def write(self, key, value):
        try:
            self.env.db.put(key, value)
        except BaseException:
            self._invalidate(key)
            raise
        try:
            self.env.cache.set(key, value, ttl=60)
        except (ConnectionError, TimeoutError):
            self._invalidate(key)

    def read(self, key):
        try:
            v = self.env.cache.get(key)
            if v is not None:
                return v
        except (ConnectionError, TimeoutError):
            pass
        v = self.env.db.get(key)
        if v is not None:
            try:
                self.env.cache.set(key, v, ttl=60)
            except (ConnectionError, TimeoutError):
                pass
        return v


class CacheFirst(WriteThrough):
    def write(self, key, value):
        self.env.cache.set(key, value, ttl=60)
        self.env.db.put(key, value)


class Raises(WriteThrough):
    def read(self, key):
        raise KeyError(key)


class Hangs(WriteThrough):
    def read(self, key):
        time.sleep(3600)


class ReturnsBytes(WriteThrough):
    def read(self, key):
        v = super().read(key)
        return None if v is None else v.encode()


def write_through(env):
    return WriteThrough(env)


def cache_first(env):
    return CacheFirst(env)


def raises(env):
    return Raises(env)


def hangs(env):
    return Hangs(env)


def returns_bytes(env):
    return ReturnsBytes(env)


def broken_factory(env):
    raise RuntimeError("cannot connect to my cache")


def returns_none(env):
    return None


_left: list[threading.Thread] = []


def leaves_thread(env):
    if not _left:
        _left.append(threading.Thread(target=time.sleep, args=(3600,), daemon=False))
        _left[0].start()
    return WriteThrough(env)


not_callable = 42


class Deadlocks(WriteThrough):
    """write takes lock a then b, read takes b then a: two clients deadlock."""

    def __init__(self, env):
        super().__init__(env)
        self.a, self.b = env.lock(), env.lock()

    def write(self, key, value):
        with self.a:
            self.env.cache.get(key)
            with self.b:
                super().write(key, value)

    def read(self, key):
        with self.b:
            self.env.cache.get(key)
            with self.a:
                return super().read(key)


class RealLock(WriteThrough):
    """A threading.Lock held across store calls: invisible to the scheduler."""

    def __init__(self, env):
        super().__init__(env)
        self.lock = threading.Lock()

    def write(self, key, value):
        with self.lock:
            super().write(key, value)

    def read(self, key):
        with self.lock:
            return super().read(key)


class BusyWorker(WriteThrough):
    """A background worker that spins without ever sleeping on env.clock."""

    def __init__(self, env):
        super().__init__(env)
        env.spawn(self._spin)

    def _spin(self):
        while True:
            time.sleep(0.001)


def deadlocks(env):
    return Deadlocks(env)


def real_lock(env):
    return RealLock(env)


def busy_worker(env):
    return BusyWorker(env)


class SlowRead(WriteThrough):
    """Hangs past the timeout once, then returns: the abandoned check must unwind."""

    def read(self, key):
        time.sleep(1.0)
        return super().read(key)


def slow_read(env):
    return SlowRead(env)


_builds = [0]


def hangs_on_third_build(env):
    # The probe and the first example build; the second example's build hangs.
    _builds[0] += 1
    if _builds[0] == 3:
        time.sleep(3600)
    return WriteThrough(env)
