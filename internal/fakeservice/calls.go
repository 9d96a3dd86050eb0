package fakeservice

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Calls counts the calls a fake served, by operation and by host. The zero
// value is ready to use; it is safe for concurrent use.
type Calls struct {
	mu     sync.Mutex
	byOp   map[string]int
	byHost map[string]int
}

// Add counts one call of op on host.
func (c *Calls) Add(host, op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byOp == nil {
		c.byOp, c.byHost = map[string]int{}, map[string]int{}
	}
	c.byOp[op]++
	c.byHost[host]++
}

// Op returns the calls of operation op, or of every operation when op is
// "".
func (c *Calls) Op(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op != "" {
		return c.byOp[op]
	}
	n := 0
	for _, v := range c.byOp {
		n += v
	}
	return n
}

// Host returns the calls served on host.
func (c *Calls) Host(host string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byHost[host]
}

// ByOp returns a copy of the counts by operation.
func (c *Calls) ByOp() map[string]int { return c.snapshot(&c.byOp) }

// ByHost returns a copy of the counts by host.
func (c *Calls) ByHost() map[string]int { return c.snapshot(&c.byHost) }

// snapshot returns a copy of *m, never nil.
func (c *Calls) snapshot(m *map[string]int) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(*m))
	maps.Copy(out, *m)
	return out
}

// Reset sets every count to zero.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byOp, c.byHost = nil, nil
}

// String lists the counts, hosts first, each sorted by name (for
// benchmark and failure output), e.g. "api=3 content=1 drives.GetItem=3".
func (c *Calls) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, m := range []map[string]int{c.byHost, c.byOp} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%d", k, m[k])
		}
	}
	return b.String()
}
