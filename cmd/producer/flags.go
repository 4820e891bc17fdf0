package main

import (
	"fmt"
	"strings"
)

// listFlag is a repeatable flag that also splits comma lists:
// --to U1 --to U2 and --to U1,U2 are the same.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// repeatFlag is a repeatable flag that keeps each value whole (texts may
// contain commas).
type repeatFlag []string

func (r *repeatFlag) String() string { return strings.Join(*r, " | ") }

func (r *repeatFlag) Set(v string) error {
	*r = append(*r, v)
	return nil
}

// labelsFlag collects repeatable key=value labels.
type labelsFlag map[string]string

func (l labelsFlag) String() string {
	var parts []string
	for k, v := range l {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (l labelsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	l[k] = val
	return nil
}
