// A buggy write-behind: the flush drains the buffer before it commits ("take the batch,
// then store it"). When the DB is down the batch is gone: a later flush returns with
// nothing to write, and acknowledged writes never reach the DB (eventual-persistence).
package main

import (
	"context"

	"cacheconformance/examples/writebehind"
	"cacheconformance/protocol"
)

func main() {
	protocol.Serve(protocol.Capabilities{Name: "buggy write-behind (go)", Flush: true, Workers: true},
		func(ctx context.Context, env *protocol.Env) (protocol.Subject, error) {
			s, err := writebehind.New(ctx, env)
			if err != nil {
				return nil, err
			}
			s.Commit = func(ctx context.Context) error {
				batch := s.Pending()
				s.Drop(batch, true) // the bug: gone from the buffer before the commit
				if len(batch) == 0 {
					return nil
				}
				return env.DB.PutMany(ctx, batch)
			}
			return s, nil
		})
}
