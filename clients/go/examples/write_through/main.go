// A correct write-through: DB first, then the entry is deleted and refilled under a lease
// (a port of implementations/memory/invalidating.py:WriteThrough).
//
//	cache-conformance check --exec "clients/go/run write_through" --policy write-through
package main

import (
	"context"
	"errors"

	"cacheconformance/examples/leases"
	"cacheconformance/protocol"
)

type writeThrough struct {
	db     *protocol.DB
	leases *leases.Cache
}

func (s *writeThrough) Write(ctx context.Context, key, value string) error {
	if err := s.db.Put(ctx, key, value); err != nil {
		if errors.Is(err, protocol.ErrTimeout) {
			// it may have committed: the cached value must not outlive it
			if _, ierr := s.leases.Invalidate(ctx, key); ierr != nil {
				return ierr
			}
		}
		return err
	}
	ok, err := s.leases.Invalidate(ctx, key)
	if err != nil || !ok {
		return err
	}
	return s.leases.Refresh(ctx, key, s.db.Get)
}

func (s *writeThrough) Read(ctx context.Context, key string) (string, bool, error) {
	return s.leases.Lookup(ctx, key, s.db.Get)
}

// Flush: nothing is pending, every acknowledged write is in the DB.
func (s *writeThrough) Flush(ctx context.Context) error { return nil }

func main() {
	protocol.Serve(protocol.Capabilities{Name: "write-through (go)", Flush: true},
		func(ctx context.Context, env *protocol.Env) (protocol.Subject, error) {
			return &writeThrough{db: env.DB, leases: leases.New(env, 30, 5)}, nil
		})
}
