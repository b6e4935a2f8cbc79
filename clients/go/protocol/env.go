package protocol

import (
	"context"
	"encoding/json"
	"fmt"
)

// Env is what a subject receives: its cache, its database, a clock, workers and locks.
// Use env locks, not sync.Mutex, for anything held across a store call (the harness must
// see who waits for whom); a sync.Mutex may guard memory between two calls.
type Env struct {
	Instance    int // which application instance this subject is (0, 1, ...)
	Incarnation int // how many times this instance was rebuilt after a crash in this example
	Cache       *Cache
	DB          *DB
	Clock       *Clock
	conn        *conn
	locks       int
}

func ttlArg(ttl float64) any {
	if ttl <= 0 {
		return nil
	}
	return ttl
}

func optional(raw json.RawMessage, err error) (string, bool, error) {
	if err != nil {
		return "", false, err
	}
	var v *string
	if e := json.Unmarshal(raw, &v); e != nil {
		return "", false, fmt.Errorf("bad answer %s: %v", raw, e)
	}
	if v == nil {
		return "", false, nil
	}
	return *v, true, nil
}

func none(_ json.RawMessage, err error) error { return err }

// Cache is env.cache.
type Cache struct{ c *conn }

func (s *Cache) Get(ctx context.Context, key string) (string, bool, error) {
	return optional(s.c.call(ctx, "cache.get", map[string]any{"key": key}))
}

// Set stores value with a TTL in seconds of the clock (0: none).
func (s *Cache) Set(ctx context.Context, key, value string, ttl float64) error {
	return none(s.c.call(ctx, "cache.set", map[string]any{"key": key, "value": value, "ttl": ttlArg(ttl)}))
}

func (s *Cache) Delete(ctx context.Context, key string) error {
	return none(s.c.call(ctx, "cache.delete", map[string]any{"key": key}))
}

// CAS atomically sets key to value if it holds *expected (nil: absent).
func (s *Cache) CAS(ctx context.Context, key string, expected *string, value string, ttl float64) (bool, error) {
	raw, err := s.c.call(ctx, "cache.cas", map[string]any{"key": key, "expected": expected, "value": value, "ttl": ttlArg(ttl)})
	if err != nil {
		return false, err
	}
	var ok bool
	if e := json.Unmarshal(raw, &ok); e != nil {
		return false, fmt.Errorf("bad answer %s: %v", raw, e)
	}
	return ok, nil
}

// DB is env.db.
type DB struct{ c *conn }

func (s *DB) Get(ctx context.Context, key string) (string, bool, error) {
	return optional(s.c.call(ctx, "db.get", map[string]any{"key": key}))
}

func (s *DB) Put(ctx context.Context, key, value string) error {
	return none(s.c.call(ctx, "db.put", map[string]any{"key": key, "value": value, "version": nil}))
}

// PutVersion is applied only if version is newer than the stored one.
func (s *DB) PutVersion(ctx context.Context, key, value string, version int64) error {
	return none(s.c.call(ctx, "db.put", map[string]any{"key": key, "value": value, "version": version}))
}

// PutMany writes (key, value) pairs as one atomic batch.
func (s *DB) PutMany(ctx context.Context, items [][2]string) error {
	return none(s.c.call(ctx, "db.put_many", map[string]any{"items": items}))
}

func (s *DB) Delete(ctx context.Context, key string) error {
	return none(s.c.call(ctx, "db.delete", map[string]any{"key": key}))
}

// Clock is env.clock: virtual seconds.
type Clock struct{ c *conn }

func (s *Clock) Now(ctx context.Context) (float64, error) {
	raw, err := s.c.call(ctx, "clock.now", map[string]any{})
	if err != nil {
		return 0, err
	}
	var now float64
	err = json.Unmarshal(raw, &now)
	return now, err
}

func (s *Clock) Sleep(ctx context.Context, seconds float64) error {
	return none(s.c.call(ctx, "clock.sleep", map[string]any{"seconds": seconds}))
}

// Queue is a durable queue: it survives a crash of the application (it lives with the cache).
type Queue struct {
	c    *conn
	name string
}

func (e *Env) Queue(name string) *Queue { return &Queue{e.conn, name} }

func (q *Queue) Push(ctx context.Context, item string) error {
	return none(q.c.call(ctx, "queue.push", map[string]any{"queue": q.name, "item": item}))
}

func (q *Queue) Peek(ctx context.Context, n int) ([]string, error) {
	raw, err := q.c.call(ctx, "queue.peek", map[string]any{"queue": q.name, "n": n})
	if err != nil {
		return nil, err
	}
	var items []string
	err = json.Unmarshal(raw, &items)
	return items, err
}

func (q *Queue) Ack(ctx context.Context, n int) error {
	return none(q.c.call(ctx, "queue.ack", map[string]any{"queue": q.name, "n": n}))
}

func (q *Queue) Len(ctx context.Context) (int, error) {
	raw, err := q.c.call(ctx, "queue.len", map[string]any{"queue": q.name})
	if err != nil {
		return 0, err
	}
	var n int
	err = json.Unmarshal(raw, &n)
	return n, err
}

// Spawn starts fn as a background worker the harness schedules: it runs on a goroutine of
// its own once the harness gives it its first turn, with a context of its own task, and
// waits only through Clock.Sleep and locks.
func (e *Env) Spawn(ctx context.Context, fn func(ctx context.Context) error) error {
	raw, err := e.conn.call(ctx, "spawn", map[string]any{})
	if err != nil {
		return err
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return fmt.Errorf("bad answer %s: %v", raw, err)
	}
	e.conn.mu.Lock()
	e.conn.workers[name] = fn
	e.conn.mu.Unlock()
	return nil
}

// Lock is a mutex the harness's scheduler knows about.
type Lock struct {
	c    *conn
	name string
}

// NewLock makes a lock; make them when the subject is built (their names are numbered).
func (e *Env) NewLock() *Lock {
	e.locks++
	return &Lock{e.conn, fmt.Sprintf("lock%d", e.locks-1)}
}

func (l *Lock) Lock(ctx context.Context) error {
	return none(l.c.call(ctx, "lock", map[string]any{"lock": l.name}))
}

func (l *Lock) Unlock(ctx context.Context) error {
	return none(l.c.call(ctx, "unlock", map[string]any{"lock": l.name}))
}
