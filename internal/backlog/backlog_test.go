package backlog_test

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/backlog"
	"github.com/linedispatch/linedispatch/internal/deadletter"
)

const subject = "line.backlog.7.C1.U1.push"

func records(n int) []backlog.Record {
	recs := make([]backlog.Record, n)
	for i := range recs {
		recs[i] = backlog.Record{
			MsgID:    "id-" + strconv.Itoa(i),
			Redrives: i % 3,
			Seq:      uint64(1000 + i),
			Data:     []byte(`{"id":"` + strconv.Itoa(i) + `","body":{"to":"U1"}}`),
		}
	}
	return recs
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 32, backlog.MaxRecords} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			in := records(n)
			m, err := backlog.Encode(subject, in)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != subject {
				t.Errorf("subject %q, want %q", m.Subject, subject)
			}
			out, err := backlog.Decode(m.Data, m.Header)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != n {
				t.Fatalf("%d records, want %d", len(out), n)
			}
			for i := range in {
				want := in[i]
				if n == 1 {
					want.Seq = 0 // a lone intent is stored as itself: no sequence
				}
				got := out[i]
				if got.MsgID != want.MsgID || got.Redrives != want.Redrives || got.Seq != want.Seq || !bytes.Equal(got.Data, want.Data) {
					t.Fatalf("record %d: got %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

// A lone intent is written exactly as before batches, so pods of either
// version read each other's backlog.
func TestSingleRecordIsTheIntentItself(t *testing.T) {
	t.Parallel()
	r := records(3)[2]
	m, err := backlog.Encode(subject, []backlog.Record{r})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Data, r.Data) {
		t.Errorf("data %q, want the intent %q", m.Data, r.Data)
	}
	if got := m.Header.Get(jetstream.MsgIDHeader); got != r.MsgID {
		t.Errorf("Nats-Msg-Id %q, want %q", got, r.MsgID)
	}
	if got := m.Header.Get(deadletter.HeaderRedrive); got != "2" {
		t.Errorf("redrive header %q, want 2", got)
	}
	if m.Header.Get(backlog.HeaderFormat) != "" {
		t.Error("a lone intent carries the batch header")
	}
}

func TestMsgIDNamesExactlyTheRecords(t *testing.T) {
	t.Parallel()
	id := func(recs []backlog.Record) string {
		t.Helper()
		m, err := backlog.Encode(subject, recs)
		if err != nil {
			t.Fatal(err)
		}
		return m.Header.Get(jetstream.MsgIDHeader)
	}
	a := records(4)
	if id(a) != id(records(4)) {
		t.Error("the same records got different IDs: a repeated spill would be stored twice")
	}
	redriven := records(4)
	redriven[1].Redrives++
	for name, other := range map[string][]backlog.Record{
		"fewer":     a[:3],
		"reordered": {a[1], a[0], a[2], a[3]},
		"redriven":  redriven,
	} {
		if id(other) == id(a) {
			t.Errorf("%s records got the same ID: one batch would replace another", name)
		}
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	t.Parallel()
	good, err := backlog.Encode(subject, records(3))
	if err != nil {
		t.Fatal(err)
	}
	header := func(format, count string) nats.Header {
		h := nats.Header{}
		h.Set(backlog.HeaderFormat, format)
		h.Set(backlog.HeaderCount, count)
		return h
	}
	for _, tc := range []struct {
		name string
		data []byte
		h    nats.Header
	}{
		{"unknown format", good.Data, header("2", "3")},
		{"count missing", good.Data, header("1", "")},
		{"count zero", good.Data, header("1", "0")},
		{"count too large", good.Data, header("1", strconv.Itoa(backlog.MaxRecords+1))},
		{"more records than data", good.Data, header("1", "4")},
		{"fewer records than data", good.Data, header("1", "2")},
		{"truncated", good.Data[:len(good.Data)-1], header("1", "3")},
		{"empty", nil, header("1", "1")},
		{"length past the end", []byte{0x05, 'a'}, header("1", "1")},
		{"overlong varint", bytes.Repeat([]byte{0xff}, 11), header("1", "1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := backlog.Decode(tc.data, tc.h)
			if !errors.Is(err, backlog.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestEncodeRejectsNoRecords(t *testing.T) {
	t.Parallel()
	if _, err := backlog.Encode(subject, nil); err == nil {
		t.Fatal("no error for an empty batch")
	}
	if _, err := backlog.Encode(subject, records(backlog.MaxRecords+1)); err == nil {
		t.Fatal("no error for a batch over MaxRecords")
	}
}

// FuzzDecode: whatever a batch holds, Decode returns records that encode
// back to the same body, or ErrMalformed; it never panics.
func FuzzDecode(f *testing.F) {
	for _, n := range []int{2, 3, 17} {
		m, err := backlog.Encode(subject, records(n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Data, n)
	}
	f.Add([]byte{}, 1)
	f.Add([]byte{0x01, 'x', 0x00, 0x00, 0x00}, 1)
	f.Fuzz(func(t *testing.T, data []byte, count int) {
		h := nats.Header{}
		h.Set(backlog.HeaderFormat, backlog.FormatV1)
		h.Set(backlog.HeaderCount, strconv.Itoa(count))
		recs, err := backlog.Decode(data, h)
		if err != nil {
			if !errors.Is(err, backlog.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(recs) != count {
			t.Fatalf("%d records, header says %d", len(recs), count)
		}
		if count < 2 {
			return // one record encodes as the intent itself
		}
		m, err := backlog.Encode(subject, recs)
		if err != nil {
			t.Fatal(err)
		}
		back, err := backlog.Decode(m.Data, m.Header)
		if err != nil || len(back) != len(recs) {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		for i := range recs {
			if back[i].MsgID != recs[i].MsgID || back[i].Seq != recs[i].Seq || !bytes.Equal(back[i].Data, recs[i].Data) || back[i].Redrives != recs[i].Redrives {
				t.Fatalf("record %d changed in a round trip", i)
			}
		}
	})
}
