// Package protocol speaks the cache-conformance subject protocol (docs/PROTOCOL.md) on
// stdin/stdout, with nothing beyond Go's standard library.
//
//	func main() {
//		protocol.Serve(protocol.Capabilities{Name: "my cache", Flush: true}, newMyCache)
//	}
//
// Every store access (env.Cache, env.DB, env.Queue, env.Clock, env.Spawn, locks) is a
// request the harness answers when its scheduler lets that step happen. The context
// passed to an operation carries its task: pass it to every env call. A store under an
// injected fault returns an error that errors.Is reports as ErrUnavailable or ErrTimeout.
//
// Determinism: do everything through env (no goroutines of your own around store calls,
// no time.Now, no math/rand, no map iteration order: sort); the same conversation must
// get the same requests.
package protocol

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
)

// Version is the protocol version this package speaks.
const Version = 1

var (
	// ErrUnavailable: the store is down, the call did nothing.
	ErrUnavailable = errors.New("store unavailable")
	// ErrTimeout: the call timed out, it may or may not have taken effect.
	ErrTimeout = errors.New("store timeout")
)

// StoreError is a store failure under an injected fault.
type StoreError struct {
	Kind    string // "unavailable" or "timeout"
	Message string
}

func (e *StoreError) Error() string { return e.Kind + ": " + e.Message }

// Is makes errors.Is(err, ErrUnavailable) and errors.Is(err, ErrTimeout) work.
func (e *StoreError) Is(target error) bool {
	return (target == ErrUnavailable && e.Kind == "unavailable") || (target == ErrTimeout && e.Kind == "timeout")
}

// IsStoreError reports whether err is (or wraps) a store failure.
func IsStoreError(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTimeout)
}

// Subject is the implementation under test. Read returns ok=false for an absent key.
type Subject interface {
	Write(ctx context.Context, key, value string) error
	Read(ctx context.Context, key string) (value string, ok bool, err error)
}

// Flusher is a subject with flush (declare Capabilities.Flush).
type Flusher interface {
	Flush(ctx context.Context) error
}

// Closer is a subject with close.
type Closer interface {
	Close(ctx context.Context) error
}

// Deleter is a subject with delete (declare Capabilities.Delete).
type Deleter interface {
	Delete(ctx context.Context, key string) error
}

// Factory builds a fresh subject; called at every reset (a new example, or after a crash).
type Factory func(ctx context.Context, env *Env) (Subject, error)

// Capabilities is what the hello declares.
type Capabilities struct {
	Name    string
	Flush   bool
	Delete  bool
	Durable bool    // pending writes survive a crash (write-behind)
	Workers bool    // the subject spawns background workers
	FillTTL float64 // seconds; 0: none declared
	// CrashByReset: the subject keeps nothing outside what its factory builds (no package-level
	// state, no goroutines that outlive a reset), so the harness may crash it by a reset in this
	// process instead of killing the process (docs/PROTOCOL.md, Crashes).
	CrashByReset bool
}

type taskKey struct{}

type task struct {
	name string
	gen  int64
}

type reply struct {
	value     json.RawMessage
	err       error
	cancelled bool
}

type conn struct {
	mu      sync.Mutex // orders requests, answers and resets
	out     *bufio.Writer
	gen     int64
	nextID  int64
	pending map[int64]chan reply
	workers map[string]func(context.Context) error
	subject Subject
	factory Factory
	caps    Capabilities
}

type inMsg struct {
	Type        string          `json:"type"`
	ID          int64           `json:"id"`
	Task        string          `json:"task"`
	Op          string          `json:"op"`
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value"`
	Instance    int             `json:"instance"`
	Incarnation int             `json:"incarnation"`
	Error       string          `json:"error"`
	Message     string          `json:"message"`
}

func (c *conn) send(msg map[string]any) {
	b, err := json.Marshal(msg)
	if err != nil {
		fatal("cannot encode %v: %v", msg, err)
	}
	c.out.Write(b)
	c.out.WriteByte('\n')
	if err := c.out.Flush(); err != nil {
		os.Exit(0) // the harness is gone
	}
}

// call sends a request for the task in ctx and waits for its answer. A task of a subject
// the harness has reset ends here (runtime.Goexit), running its deferred calls.
func (c *conn) call(ctx context.Context, target string, args map[string]any) (json.RawMessage, error) {
	t, ok := ctx.Value(taskKey{}).(*task)
	if !ok {
		panic(fmt.Sprintf("env %s called with a context that is not an operation's or a worker's: pass the ctx you were given", target))
	}
	ch := make(chan reply, 1)
	c.mu.Lock()
	if t.gen != c.gen {
		c.mu.Unlock()
		runtime.Goexit()
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.send(map[string]any{"type": "call", "id": id, "task": t.name, "target": target, "args": args})
	c.mu.Unlock()
	r := <-ch
	if r.cancelled {
		runtime.Goexit()
	}
	return r.value, r.err
}

func (c *conn) answer(t *task, msg map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.gen == c.gen {
		c.send(msg)
	}
}

func failure(msg map[string]any, err error) {
	var se *StoreError
	if errors.As(err, &se) {
		msg["error"] = se.Kind
		msg["message"] = err.Error()
		return
	}
	msg["error"] = "subject"
	name := reflect.TypeOf(err).String()
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	msg["exception"] = strings.TrimLeft(name, "*")
	msg["message"] = err.Error()
}

// run runs body as task t, answering with the message done(value) builds, or failed /
// exit with an error. A body that ended by runtime.Goexit (cancelled) is not answered.
func (c *conn) run(t *task, answer map[string]any, body func(ctx context.Context) (any, error)) {
	ctx := context.WithValue(context.Background(), taskKey{}, t)
	finished := false
	defer func() {
		if p := recover(); p != nil {
			answer["error"] = "subject"
			answer["exception"] = "panic"
			answer["message"] = fmt.Sprint(p)
			if answer["type"] == "done" {
				answer["type"] = "failed"
			}
			delete(answer, "value")
			c.answer(t, answer)
			return
		}
		if !finished {
			return // runtime.Goexit: the harness reset the subject
		}
		c.answer(t, answer)
	}()
	value, err := body(ctx)
	if err != nil {
		if answer["type"] == "done" {
			answer["type"] = "failed"
		}
		failure(answer, err)
	} else if answer["type"] == "done" {
		answer["value"] = value
	}
	finished = true
}

func (c *conn) operate(m *inMsg) {
	c.mu.Lock()
	if m.Op == "reset" {
		c.gen++
		for _, ch := range c.pending {
			ch <- reply{cancelled: true}
		}
		c.pending = map[int64]chan reply{}
		c.workers = map[string]func(context.Context) error{}
	}
	t := &task{name: m.Task, gen: c.gen}
	c.mu.Unlock()
	var value string
	if m.Op == "write" {
		if err := json.Unmarshal(m.Value, &value); err != nil {
			fatal("write needs a string value: %v", err)
		}
	}
	go c.run(t, map[string]any{"type": "done", "id": m.ID}, func(ctx context.Context) (any, error) {
		switch m.Op {
		case "reset":
			c.subject = nil
			s, err := c.factory(ctx, &Env{Instance: m.Instance, Incarnation: m.Incarnation, conn: c,
				Cache: &Cache{c}, DB: &DB{c}, Clock: &Clock{c}})
			c.subject = s
			return nil, err
		case "write":
			return nil, c.subject.Write(ctx, m.Key, value)
		case "read":
			v, ok, err := c.subject.Read(ctx, m.Key)
			if err != nil || !ok {
				return nil, err
			}
			return v, nil
		case "delete":
			if d, ok := c.subject.(Deleter); ok {
				return nil, d.Delete(ctx, m.Key)
			}
			return nil, errors.New("this subject has no Delete")
		case "flush":
			if f, ok := c.subject.(Flusher); ok {
				return nil, f.Flush(ctx)
			}
			return nil, nil
		case "close":
			if f, ok := c.subject.(Closer); ok {
				return nil, f.Close(ctx)
			}
			return nil, nil
		}
		return nil, fmt.Errorf("unknown operation %q", m.Op)
	})
}

func (c *conn) start(name string) {
	c.mu.Lock()
	fn, ok := c.workers[name]
	delete(c.workers, name)
	t := &task{name: name, gen: c.gen}
	c.mu.Unlock()
	if !ok {
		fatal("the harness started task %s, which was never spawned", name)
	}
	go c.run(t, map[string]any{"type": "exit", "task": name}, func(ctx context.Context) (any, error) {
		return nil, fn(ctx)
	})
}

func (c *conn) dispatch(m *inMsg) {
	switch m.Type {
	case "result", "error":
		c.mu.Lock()
		ch, ok := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if !ok {
			fatal("the harness answered request %d, which is not pending", m.ID)
		}
		if m.Type == "result" {
			ch <- reply{value: m.Value}
		} else if m.Error == "unavailable" || m.Error == "timeout" {
			ch <- reply{err: &StoreError{Kind: m.Error, Message: m.Message}}
		} else {
			ch <- reply{err: fmt.Errorf("harness error %s: %s", m.Error, m.Message)}
		}
	case "op":
		c.operate(m)
	case "start":
		c.start(m.Task)
	default:
		fatal("unknown message type %q", m.Type)
	}
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cache_conformance: protocol error: "+format+"\n", args...)
	os.Exit(70)
}

// Serve speaks the protocol on stdin/stdout until stdin closes, then exits.
func Serve(caps Capabilities, factory Factory) {
	c := &conn{out: bufio.NewWriterSize(os.Stdout, 1<<16), pending: map[int64]chan reply{},
		workers: map[string]func(context.Context) error{}, factory: factory, caps: caps}
	var fillTTL any
	if caps.FillTTL > 0 {
		fillTTL = caps.FillTTL
	}
	c.mu.Lock()
	c.send(map[string]any{"type": "hello", "protocol": Version, "subject": caps.Name, "capabilities": map[string]any{
		"flush": caps.Flush, "delete": caps.Delete, "durable": caps.Durable, "fill_ttl": fillTTL, "workers": caps.Workers,
		"crash_by_reset": caps.CrashByReset}})
	c.mu.Unlock()
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 1 {
			m := &inMsg{}
			if jerr := json.Unmarshal(line, m); jerr != nil {
				fatal("bad JSON from the harness: %v", jerr)
			}
			c.dispatch(m)
		}
		if err == io.EOF {
			os.Exit(0)
		}
		if err != nil {
			fatal("reading stdin: %v", err)
		}
	}
}
