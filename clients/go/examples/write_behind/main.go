// A correct volatile write-behind (see ../writebehind).
//
//	cache-conformance check --exec "clients/go/run write_behind" --policy write-behind
package main

import (
	"context"

	"cacheconformance/examples/writebehind"
	"cacheconformance/protocol"
)

func main() {
	protocol.Serve(protocol.Capabilities{Name: "write-behind (go)", Flush: true, Workers: true},
		func(ctx context.Context, env *protocol.Env) (protocol.Subject, error) {
			return writebehind.New(ctx, env)
		})
}
