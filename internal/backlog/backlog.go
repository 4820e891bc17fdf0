// Package backlog is the format of LINE_BACKLOG messages: the intents a hot
// lane spilled, several of one key per message.
//
// Passing a deep partition through to the backlog costs one publish per
// message, and a JetStream publish costs about three times a consume and
// ack; batching the spills of a key makes the pass-through nearly as fast as
// consuming the partition (docs/design.md, "Spill batches").
//
// A message with the header Linedispatch-Backlog: 1 holds Count records,
// each, in order:
//
//	uvarint len(msgID) | msgID | uvarint redrives | uvarint seq | uvarint len(data) | data
//
// where msgID is the intent's Nats-Msg-Id in LINE_INTENTS (its de-duplication
// ID), redrives its Linedispatch-Redrive count, seq its LINE_INTENTS stream
// sequence (0: unknown) and data the intent exactly as it was published. A
// message without the header is one intent spilled on its own (and the format
// before batches): data is the intent, its Nats-Msg-Id and
// Linedispatch-Redrive headers are the record's.
package backlog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/deadletter"
)

const (
	// HeaderFormat marks a batch and names its format version.
	HeaderFormat = "Linedispatch-Backlog"
	// HeaderCount is the number of records in a batch.
	HeaderCount = "Linedispatch-Backlog-Count"
	// FormatV1 is the only batch format so far.
	FormatV1 = "1"
	// MaxRecords bounds the records of one batch a reader accepts.
	MaxRecords = 4096
)

// ErrMalformed is returned (wrapped, with the reason) for a batch that cannot
// be read.
var ErrMalformed = errors.New("malformed backlog batch")

// Record is one spilled intent.
type Record struct {
	MsgID    string // Nats-Msg-Id of the intent in LINE_INTENTS
	Redrives int    // how often an operator redrove it from LINE_DEAD
	Seq      uint64 // its LINE_INTENTS stream sequence; 0 when unknown
	Data     []byte // the intent as published
}

// Size is what r adds to a batch's body.
func (r Record) Size() int {
	return len(r.MsgID) + len(r.Data) + 4*binary.MaxVarintLen64
}

// Encode returns the LINE_BACKLOG message for recs (at least one) on
// subject. One record is written as the intent itself with its headers, as
// before batches existed; several as a batch. The message's Nats-Msg-Id
// depends on exactly which records it holds, so the same spill repeated
// (after a failed ack) is stored once, and a different one never replaces
// another.
func Encode(subject string, recs []Record) (*nats.Msg, error) {
	if len(recs) == 0 {
		return nil, errors.New("backlog: no records to encode")
	}
	if len(recs) > MaxRecords {
		return nil, fmt.Errorf("backlog: %d records; at most %d", len(recs), MaxRecords)
	}
	m := nats.NewMsg(subject)
	if len(recs) == 1 {
		r := recs[0]
		m.Data = r.Data
		m.Header.Set(jetstream.MsgIDHeader, r.MsgID)
		if r.Redrives > 0 {
			m.Header.Set(deadletter.HeaderRedrive, strconv.Itoa(r.Redrives))
		}
		return m, nil
	}
	size := 0
	for _, r := range recs {
		size += r.Size()
	}
	body := make([]byte, 0, size)
	h := sha256.New()
	for _, r := range recs {
		body = binary.AppendUvarint(body, uint64(len(r.MsgID)))
		body = append(body, r.MsgID...)
		body = binary.AppendUvarint(body, uint64(max(r.Redrives, 0)))
		body = binary.AppendUvarint(body, r.Seq)
		body = binary.AppendUvarint(body, uint64(len(r.Data)))
		body = append(body, r.Data...)
		h.Write([]byte(r.MsgID))
		h.Write([]byte{'/'})
		h.Write(strconv.AppendInt(nil, int64(r.Redrives), 10))
		h.Write([]byte{'\n'})
	}
	m.Data = body
	m.Header.Set(HeaderFormat, FormatV1)
	m.Header.Set(HeaderCount, strconv.Itoa(len(recs)))
	m.Header.Set(jetstream.MsgIDHeader, "bl-"+hex.EncodeToString(h.Sum(nil)[:16]))
	return m, nil
}

// Decode returns the records of a LINE_BACKLOG message given its body and
// headers. The records' Data alias data.
func Decode(data []byte, h nats.Header) ([]Record, error) {
	format := ""
	if h != nil {
		format = h.Get(HeaderFormat)
	}
	if format == "" {
		r := Record{Data: data}
		if h != nil {
			r.MsgID = h.Get(jetstream.MsgIDHeader)
			r.Redrives, _ = strconv.Atoi(h.Get(deadletter.HeaderRedrive))
		}
		return []Record{r}, nil
	}
	if format != FormatV1 {
		return nil, fmt.Errorf("%w: format %q, this version reads %q", ErrMalformed, format, FormatV1)
	}
	count, err := strconv.Atoi(h.Get(HeaderCount))
	if err != nil || count < 1 || count > MaxRecords {
		return nil, fmt.Errorf("%w: %s %q is not a count from 1 to %d", ErrMalformed, HeaderCount, h.Get(HeaderCount), MaxRecords)
	}
	recs := make([]Record, 0, count)
	rest := data
	for i := 0; i < count; i++ {
		var r Record
		var id []byte
		var n uint64
		if id, rest, err = readBytes(rest); err != nil {
			return nil, fmt.Errorf("%w: record %d: message ID: %v", ErrMalformed, i, err)
		}
		r.MsgID = string(id)
		if n, rest, err = readUvarint(rest); err != nil || n > 1<<31 {
			return nil, fmt.Errorf("%w: record %d: redrive count unreadable", ErrMalformed, i)
		}
		r.Redrives = int(n)
		if r.Seq, rest, err = readUvarint(rest); err != nil {
			return nil, fmt.Errorf("%w: record %d: sequence: %v", ErrMalformed, i, err)
		}
		if r.Data, rest, err = readBytes(rest); err != nil {
			return nil, fmt.Errorf("%w: record %d: intent: %v", ErrMalformed, i, err)
		}
		recs = append(recs, r)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last of %d records", ErrMalformed, len(rest), count)
	}
	return recs, nil
}

func readUvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errors.New("truncated or overlong number")
	}
	return v, b[n:], nil
}

func readBytes(b []byte) ([]byte, []byte, error) {
	n, rest, err := readUvarint(b)
	if err != nil {
		return nil, nil, err
	}
	if n > uint64(len(rest)) {
		return nil, nil, fmt.Errorf("length %d exceeds the %d bytes left", n, len(rest))
	}
	return rest[:n:n], rest[n:], nil
}
