// Package leases: lease-guarded cache fills, the read path of the reference subjects (a
// port of implementations/memory/leases.py, whose docstring argues why fills never go
// back). On a miss a reader puts a unique marker in the slot (CAS from what it saw), reads
// the DB, and stores the value with CAS(marker -> value), which lands only if no writer
// deleted the slot meanwhile. Writers only delete.
package leases

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"cacheconformance/protocol"
)

const Prefix = "\x00lease:"

// Loader reads a key's value from the source of truth.
type Loader func(ctx context.Context, key string) (string, bool, error)

type Cache struct {
	cache    *protocol.Cache
	owner    string
	TTL      float64
	LeaseTTL float64
	mu       sync.Mutex // guards tokens and suspect (memory only, never across a store call)
	tokens   int
	suspect  map[string]bool // entries that may be stale after a failed delete or set
}

func New(env *protocol.Env, ttl, leaseTTL float64) *Cache {
	return &Cache{cache: env.Cache, owner: fmt.Sprintf("%d.%d", env.Instance, env.Incarnation),
		TTL: ttl, LeaseTTL: leaseTTL, suspect: map[string]bool{}}
}

func IsLease(v string) bool { return strings.HasPrefix(v, Prefix) }

func (c *Cache) token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens++
	return fmt.Sprintf("%s%s:%d", Prefix, c.owner, c.tokens)
}

func (c *Cache) mark(key string, stale bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stale {
		c.suspect[key] = true
	} else {
		delete(c.suspect, key)
	}
}

func (c *Cache) isSuspect(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.suspect[key]
}

// Lookup returns the cached value of key, or load(key) filled under a lease. Cache failures
// are absorbed (the DB answers); load's failures are returned.
func (c *Cache) Lookup(ctx context.Context, key string, load Loader) (string, bool, error) {
	if c.isSuspect(key) {
		ok, err := c.Invalidate(ctx, key)
		if err != nil {
			return "", false, err
		}
		if !ok {
			return load(ctx, key)
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		seen, found, err := c.cache.Get(ctx, key)
		if protocol.IsStoreError(err) {
			return load(ctx, key)
		} else if err != nil {
			return "", false, err
		}
		if found && !IsLease(seen) {
			return seen, true, nil
		}
		var expected *string
		if found {
			expected = &seen
		}
		token := c.token()
		acquired, err := c.cache.CAS(ctx, key, expected, token, c.LeaseTTL)
		if protocol.IsStoreError(err) {
			return load(ctx, key)
		} else if err != nil {
			return "", false, err
		}
		if acquired {
			return c.fill(ctx, key, token, load)
		}
	}
	v, ok, err := load(ctx, key)
	if err != nil {
		return "", false, err
	}
	if _, err := c.Invalidate(ctx, key); err != nil {
		return "", false, err
	}
	return v, ok, nil
}

func (c *Cache) fill(ctx context.Context, key, token string, load Loader) (string, bool, error) {
	v, ok, err := load(ctx, key)
	if err != nil {
		if protocol.IsStoreError(err) {
			if _, ierr := c.Invalidate(ctx, key); ierr != nil {
				return "", false, ierr
			}
		}
		return "", false, err
	}
	if !ok {
		_, err := c.Invalidate(ctx, key)
		return "", false, err
	}
	filled, err := c.cache.CAS(ctx, key, &token, v, c.TTL)
	if err != nil && !protocol.IsStoreError(err) {
		return "", false, err
	}
	if err != nil || !filled {
		if _, err := c.Invalidate(ctx, key); err != nil {
			return "", false, err
		}
	}
	return v, true, nil
}

// Invalidate deletes key's entry (retried once); false if the cache could not be reached.
func (c *Cache) Invalidate(ctx context.Context, key string) (bool, error) {
	for attempt := 0; attempt < 2; attempt++ {
		err := c.cache.Delete(ctx, key)
		if protocol.IsStoreError(err) {
			continue
		} else if err != nil {
			return false, err
		}
		c.mark(key, false)
		return true, nil
	}
	c.mark(key, true)
	return false, nil
}

// Store sets key to a value known to be the latest; on failure the key becomes suspect.
func (c *Cache) Store(ctx context.Context, key, value string) error {
	err := c.cache.Set(ctx, key, value, c.TTL)
	if protocol.IsStoreError(err) {
		c.mark(key, true)
		return nil
	}
	if err == nil {
		c.mark(key, false)
	}
	return err
}

// Refresh warms key's entry after a write: a guarded fill whose store failures are ignored.
func (c *Cache) Refresh(ctx context.Context, key string, load Loader) error {
	_, _, err := c.Lookup(ctx, key, load)
	if protocol.IsStoreError(err) {
		return nil
	}
	return err
}
