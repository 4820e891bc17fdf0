package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	in := "a\r\n\n" + long + "\nb\n" + long + long + "\nlast"
	lr := newLineReader(strings.NewReader(in), 150)
	want := []struct {
		line    string
		tooLong bool
	}{{"a", false}, {"", false}, {long, false}, {"b", false}, {"", true}, {"last", false}}
	for i, w := range want {
		got, err := lr.next()
		switch {
		case w.tooLong && !errors.Is(err, errLineTooLong):
			t.Fatalf("line %d: err = %v, want too long", i+1, err)
		case !w.tooLong && (err != nil || string(got) != w.line):
			t.Fatalf("line %d: %q, %v; want %q", i+1, got, err, w.line)
		}
		if lr.num != i+1 {
			t.Fatalf("line number %d, want %d", lr.num, i+1)
		}
	}
	if _, err := lr.next(); err != io.EOF {
		t.Fatalf("after the last line: %v, want EOF", err)
	}
	if lr.bytes != int64(len(in)) {
		t.Errorf("bytes = %d, want %d", lr.bytes, len(in))
	}
}
