package token

import (
	"context"
	"errors"
	"testing"
)

func TestStatic(t *testing.T) {
	t.Parallel()
	src := map[string]string{"1": "a"}
	s := NewStatic(src)
	src["1"] = "mutated"
	if got, err := s.Token(context.Background(), "1"); got != "a" || err != nil {
		t.Fatalf("Token = %q, %v", got, err)
	}
	s.Invalidate("1", "a")
	if got, _ := s.Token(context.Background(), "1"); got != "a" {
		t.Fatalf("after Invalidate = %q", got)
	}
	if _, err := s.Token(context.Background(), "2"); !errors.Is(err, ErrUnknownChannel) {
		t.Fatalf("unknown channel err = %v", err)
	}
}
