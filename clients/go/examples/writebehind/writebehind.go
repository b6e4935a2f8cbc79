// Package writebehind: a correct volatile write-behind, and the hook its buggy twin replaces.
package writebehind

import (
	"context"
	"sort"
	"sync"

	"cacheconformance/examples/leases"
	"cacheconformance/protocol"
)

// WriteBehind is a correct volatile write-behind (a port of
// implementations/memory/write_behind.py): writes go to a buffer (latest value per key)
// and the cache; a worker commits the buffer with one atomic PutMany per batch, and drops
// an entry only after its commit and only if it was not re-written meanwhile. Reads look
// in the buffer first.
//
// lock (an env lock, which the harness sees) is held across store calls by writes and
// reads; flushing keeps flushes one at a time; mu guards the buffer between calls.
type WriteBehind struct {
	env       *protocol.Env
	leases    *leases.Cache
	lock      *protocol.Lock
	flushing  *protocol.Lock
	mu        sync.Mutex
	pending   map[string]string // acknowledged, not yet committed
	closed    bool
	interval  float64
	batchSize int
	// Commit persists the buffer (a hook, so the buggy twin can replace it).
	Commit func(ctx context.Context) error
}

func New(ctx context.Context, env *protocol.Env) (*WriteBehind, error) {
	s := &WriteBehind{env: env, leases: leases.New(env, 30, 5), lock: env.NewLock(), flushing: env.NewLock(),
		pending: map[string]string{}, interval: 1, batchSize: 8}
	s.Commit = s.commitPending
	return s, env.Spawn(ctx, s.run)
}

func (s *WriteBehind) Write(ctx context.Context, key, value string) (err error) {
	if err := s.lock.Lock(ctx); err != nil {
		return err
	}
	defer func() {
		if uerr := s.lock.Unlock(ctx); err == nil {
			err = uerr
		}
	}()
	s.mu.Lock()
	s.pending[key] = value
	s.mu.Unlock()
	return s.leases.Store(ctx, key, value)
}

func (s *WriteBehind) Read(ctx context.Context, key string) (v string, ok bool, err error) {
	if err := s.lock.Lock(ctx); err != nil {
		return "", false, err
	}
	defer func() {
		if uerr := s.lock.Unlock(ctx); err == nil {
			err = uerr
		}
	}()
	s.mu.Lock()
	v, ok = s.pending[key]
	s.mu.Unlock()
	if ok {
		return v, true, nil
	}
	return s.leases.Lookup(ctx, key, s.env.DB.Get)
}

func (s *WriteBehind) Flush(ctx context.Context) (err error) {
	if err := s.flushing.Lock(ctx); err != nil {
		return err
	}
	defer func() {
		if uerr := s.flushing.Unlock(ctx); err == nil {
			err = uerr
		}
	}()
	return s.Commit(ctx)
}

func (s *WriteBehind) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.Flush(ctx)
}

// Pending is the buffer, sorted by key (Go randomizes map order; requests must not vary).
func (s *WriteBehind) Pending() [][2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][2]string, 0, len(s.pending))
	for k, v := range s.pending {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Drop removes committed entries that were not re-written meanwhile (all, with all=true).
func (s *WriteBehind) Drop(batch [][2]string, all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, kv := range batch {
		if all || s.pending[kv[0]] == kv[1] {
			delete(s.pending, kv[0])
		}
	}
}

func (s *WriteBehind) commitPending(ctx context.Context) error {
	items := s.Pending()
	for start := 0; start < len(items); start += s.batchSize {
		end := start + s.batchSize
		if end > len(items) {
			end = len(items)
		}
		batch := make([][2]string, 0, end-start)
		s.mu.Lock()
		for _, kv := range items[start:end] {
			if v, ok := s.pending[kv[0]]; ok { // the latest value, even if re-written since
				batch = append(batch, [2]string{kv[0], v})
			}
		}
		s.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		if err := s.env.DB.PutMany(ctx, batch); err != nil { // all of the batch or none of it
			return err
		}
		s.Drop(batch, false)
	}
	return nil
}

func (s *WriteBehind) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *WriteBehind) run(ctx context.Context) error {
	for !s.isClosed() {
		if err := s.env.Clock.Sleep(ctx, s.interval); err != nil {
			return err
		}
		if s.isClosed() {
			return nil
		}
		if err := s.Flush(ctx); err != nil && !protocol.IsStoreError(err) {
			return err // a store failure leaves everything pending: the next round retries
		}
	}
	return nil
}
