// A buggy write-through: the cache first, then the database ("update the cache, then
// persist"). When the DB write fails, the cache already serves a value the database
// never had (no-phantom).
package main

import (
	"context"

	"cacheconformance/protocol"
)

type cacheFirst struct{ env *protocol.Env }

func (s *cacheFirst) Write(ctx context.Context, key, value string) error {
	if err := s.env.Cache.Set(ctx, key, value, 60); err != nil {
		return err
	}
	return s.env.DB.Put(ctx, key, value)
}

func (s *cacheFirst) Read(ctx context.Context, key string) (string, bool, error) {
	v, ok, err := s.env.Cache.Get(ctx, key)
	if protocol.IsStoreError(err) {
		return s.env.DB.Get(ctx, key)
	}
	if err != nil || ok {
		return v, ok, err
	}
	v, ok, err = s.env.DB.Get(ctx, key)
	if err != nil || !ok {
		return v, ok, err
	}
	if err := s.env.Cache.Set(ctx, key, v, 60); err != nil && !protocol.IsStoreError(err) {
		return "", false, err
	}
	return v, true, nil
}

func main() {
	protocol.Serve(protocol.Capabilities{Name: "buggy write-through (go)"},
		func(ctx context.Context, env *protocol.Env) (protocol.Subject, error) {
			return &cacheFirst{env}, nil
		})
}
