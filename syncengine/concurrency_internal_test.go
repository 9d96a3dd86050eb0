package syncengine

import (
	"testing"
	"time"
)

// feed completes n actions over d at concurrency c's current bound and
// lets it adapt.
func feed(c *concurrency, n int, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done += n
	c.adapt(c.start.Add(d))
}

func TestConcurrencyGrowsWhileThroughputRises(t *testing.T) {
	c := newConcurrency(4, 16, nil)
	// Latency-bound: the rate is proportional to the bound.
	for range 20 {
		lim := c.limit()
		feed(c, lim*4, 100*time.Millisecond)
	}
	if got := c.limit(); got != 16 {
		t.Fatalf("bound %d after rising throughput, want 16", got)
	}
}

func TestConcurrencyStepsBackWhenThroughputFalls(t *testing.T) {
	c := newConcurrency(4, 16, nil)
	feed(c, 40, 100*time.Millisecond) // 400/s at 4: grows to 6
	if got := c.limit(); got != 6 {
		t.Fatalf("bound %d, want 6", got)
	}
	feed(c, 30, 100*time.Millisecond) // 300/s at 6: worse, back to 5
	if got := c.limit(); got != 5 {
		t.Fatalf("bound %d after a falling rate, want 5", got)
	}
	feed(c, 30, 100*time.Millisecond) // same rate: stays
	if got := c.limit(); got != 5 {
		t.Fatalf("bound %d at a steady rate, want 5", got)
	}
}

func TestConcurrencyHalvesOnThrottling(t *testing.T) {
	c := newConcurrency(8, 16, nil)
	c.throttled()
	if got := c.limit(); got != 4 {
		t.Fatalf("bound %d after throttling, want 4", got)
	}
	for range 3 {
		c.throttled()
	}
	if got := c.limit(); got != 1 {
		t.Fatalf("bound %d, want at least 1", got)
	}
}

func TestConcurrencyRespectsBudgetRoomAndFixedBounds(t *testing.T) {
	room := false
	c := newConcurrency(4, 16, func(int) bool { return room })
	feed(c, 40, 100*time.Millisecond)
	if got := c.limit(); got != 3 {
		t.Fatalf("bound %d with a budget running low, want 3", got)
	}
	fixed := newConcurrency(4, 4, nil)
	for range 5 {
		feed(fixed, 100, 10*time.Millisecond)
	}
	if got := fixed.limit(); got != 4 {
		t.Fatalf("fixed bound moved to %d", got)
	}
}
