package limiter

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/linedispatch/linedispatch/intent"
)

// Other is the Table key for every endpoint without an entry of its own
// (LINE's "other endpoints", 2,000 req/s).
const Other intent.Endpoint = "other"

// Table maps endpoints to their limits. Keys are intent.Endpoint tokens
// ("push", "multicast", …) or Other. It is a plain map so that it reads and
// writes naturally in JSON and YAML ({"push": "2000/1s"}); the JSON and YAML
// decoders go through ParseTable, so unknown keys are rejected and keys that
// are absent keep LINE's defaults.
type Table map[intent.Endpoint]Limit

// DefaultTable returns LINE's documented limits (LINE-API.md §2), per
// (module channel × bot × endpoint).
func DefaultTable() Table {
	return Table{
		intent.Push:       {Count: 2000, Period: time.Second},
		intent.Reply:      {Count: 2000, Period: time.Second},
		intent.MarkAsRead: {Count: 2000, Period: time.Second},
		intent.Multicast:  {Count: 200, Period: time.Second}, // older documents said 2,000/s
		intent.Narrowcast: {Count: 60, Period: time.Hour},
		intent.Broadcast:  {Count: 60, Period: time.Hour},
		Other:             {Count: 2000, Period: time.Second},
	}
}

// For returns e's limit: its own entry; else, for an endpoint LINE documents,
// LINE's default (so a hand-built partial table never loosens a limit by
// accident: multicast missing from it still gets 200/s, not "other"s
// 2,000/s); else the table's Other entry; else LINE's "other" limit. Tables
// from DefaultTable, ParseTable and Scaled have an entry for every endpoint.
func (t Table) For(e intent.Endpoint) Limit {
	if l, ok := t[e]; ok {
		return l
	}
	def := DefaultTable()
	if l, ok := def[e]; ok {
		return l
	}
	if l, ok := t[Other]; ok {
		return l
	}
	return def[Other]
}

// Scaled returns a copy of t with every period multiplied by periodScale (see
// Limit.Scaled): Scaled(0.001) plays 60/1h as 60/3.6s and 2000/1s as 2000/1ms.
func (t Table) Scaled(periodScale float64) Table {
	out := make(Table, len(t))
	for e, l := range t {
		out[e] = l.Scaled(periodScale)
	}
	return out
}

// Validate reports every invalid key or limit in t, naming the key.
func (t Table) Validate() error {
	var errs []error
	for _, e := range slices.Sorted(maps.Keys(t)) {
		if !e.Valid() && e != Other {
			errs = append(errs, fmt.Errorf("limiter: limits[%q]: unknown endpoint (want one of %s)", e, endpointList()))
			continue
		}
		if err := t[e].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("limiter: limits[%q]: %w", e, err))
		}
	}
	return errors.Join(errs...)
}

// ParseTable reads a configuration map such as {"push": "2000/1s",
// "narrowcast": "60/1h"} on top of DefaultTable: keys that are absent keep
// LINE's values. Keys are endpoint tokens or "other", case-insensitive. Every
// error names its key; all errors are reported, sorted by key.
func ParseTable(m map[string]string) (Table, error) {
	t := DefaultTable()
	seen := make(map[intent.Endpoint]string, len(m))
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(m)) {
		e := intent.Endpoint(strings.ToLower(strings.TrimSpace(key)))
		switch {
		case !e.Valid() && e != Other:
			errs = append(errs, fmt.Errorf("limiter: limits[%q]: unknown endpoint (want one of %s)", key, endpointList()))
			continue
		case seen[e] != "":
			errs = append(errs, fmt.Errorf("limiter: limits[%q]: duplicates limits[%q]", key, seen[e]))
			continue
		}
		seen[e] = key
		l, err := ParseLimit(m[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("limiter: limits[%q]: %w", key, err))
			continue
		}
		t[e] = l
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// UnmarshalJSON reads {"push": "2000/1s", …} through ParseTable.
func (t *Table) UnmarshalJSON(data []byte) error {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("limiter: limit table: %w", err)
	}
	return t.set(m)
}

// UnmarshalYAML reads a YAML mapping through ParseTable. It uses the
// function-style interface that gopkg.in/yaml.v3 still honours, so this
// package does not import a YAML library.
func (t *Table) UnmarshalYAML(unmarshal func(any) error) error {
	var m map[string]string
	if err := unmarshal(&m); err != nil {
		return fmt.Errorf("limiter: limit table: %w", err)
	}
	return t.set(m)
}

func (t *Table) set(m map[string]string) error {
	parsed, err := ParseTable(m)
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

func endpointList() string {
	names := make([]string, 0, len(intent.Endpoints)+1)
	for _, e := range intent.Endpoints {
		names = append(names, string(e))
	}
	return strings.Join(append(names, string(Other)), ", ")
}
