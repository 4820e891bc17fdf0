package unit

import "sync"

// cache holds a pod's botMonth views. It is bounded: past size, an arbitrary
// entry is dropped (a later miss costs one KV read, never correctness, since
// every decision about a new name is made by compare-and-set in KV). When a
// newer month shows up, every older month is dropped at once: those sets are
// finished and would otherwise linger until evicted.
type cache struct {
	mu     sync.RWMutex
	size   int
	newest string
	m      map[bmKey]*botMonth
}

type bmKey struct{ channel, bot, month string }

func (c *cache) init(size int) {
	c.size = size
	c.m = make(map[bmKey]*botMonth)
}

func (c *cache) get(channel, bot, month string) *botMonth {
	c.mu.RLock()
	bm := c.m[bmKey{channel, bot, month}]
	c.mu.RUnlock()
	return bm
}

// add returns the entry for the key, creating it when absent.
func (c *cache) add(channel, bot, month string) *botMonth {
	k := bmKey{channel, bot, month}
	c.mu.Lock()
	defer c.mu.Unlock()
	if bm, ok := c.m[k]; ok {
		return bm
	}
	if month > c.newest {
		for old := range c.m {
			if old.month < month {
				delete(c.m, old)
			}
		}
		c.newest = month
	}
	for old := range c.m {
		if len(c.m) < c.size {
			break
		}
		delete(c.m, old) // map order is unspecified: an arbitrary victim
	}
	bm := &botMonth{}
	c.m[k] = bm
	return bm
}

func (c *cache) forget(channel, bot, month string) {
	c.mu.Lock()
	delete(c.m, bmKey{channel, bot, month})
	c.mu.Unlock()
}
