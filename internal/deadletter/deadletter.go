// Package deadletter lists and redrives LINE_DEAD: the intents the
// dispatcher could not send, each kept verbatim with the outcome that ended it.
package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// HeaderRedrive counts how often an intent was redriven. The dispatcher
// derives the Nats-Msg-Id of the intent's outcome from it, so the outcome of
// a redriven intent is not mistaken for a duplicate of the first one.
const HeaderRedrive = "Linedispatch-Redrive"

// Letter is one dead letter.
type Letter struct {
	Seq     uint64          `json:"seq"`
	Subject string          `json:"subject"`
	Time    time.Time       `json:"time"`
	Outcome outcome.Outcome `json:"outcome"`
	// Intent is the original message, verbatim.
	Intent []byte `json:"-"`
	// IntentSubject is where the intent was stored when it died.
	IntentSubject string `json:"intentSubject"`
	Redrives      int    `json:"redrives,omitempty"`
}

// Filter selects dead letters; empty fields match everything.
type Filter struct {
	Channel, Bot, Endpoint, Reason string
}

func (f Filter) subject() string {
	tok := func(s string) string {
		if s == "" {
			return "*"
		}
		return outcome.Token(s)
	}
	return outcome.DeadPrefix + "." + tok(f.Channel) + "." + tok(f.Bot) + "." + tok(f.Endpoint) + "." + tok(f.Reason)
}

// List returns up to limit dead letters matching f, oldest first.
func List(ctx context.Context, js jetstream.JetStream, f Filter, limit int) ([]Letter, error) {
	c, err := js.OrderedConsumer(ctx, queue.DeadStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{f.subject()}})
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	var out []Letter
	for limit <= 0 || len(out) < limit {
		info, err := c.Info(ctx)
		if err != nil {
			return nil, err
		}
		if info.NumPending == 0 {
			break
		}
		n := int(min(info.NumPending, 500))
		if limit > 0 {
			n = min(n, limit-len(out))
		}
		batch, err := c.Fetch(n, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			l, err := letterOf(m)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		if got == 0 {
			break
		}
	}
	return out, nil
}

func letterOf(m jetstream.Msg) (Letter, error) {
	md, err := m.Metadata()
	if err != nil {
		return Letter{}, err
	}
	l := Letter{Seq: md.Sequence.Stream, Subject: m.Subject(), Time: md.Timestamp, Intent: m.Data()}
	if h := m.Headers(); h != nil {
		l.IntentSubject = h.Get(outcome.HeaderIntentSubject)
		l.Redrives, _ = strconv.Atoi(h.Get(HeaderRedrive))
		if err := json.Unmarshal([]byte(h.Get(outcome.HeaderOutcome)), &l.Outcome); err != nil {
			return Letter{}, fmt.Errorf("dead letter %d: outcome header: %w", l.Seq, err)
		}
	}
	return l, nil
}

// RedriveOptions tune Redrive.
type RedriveOptions struct {
	// Refresh sets createdAt to now and clears notAfter, so an expired
	// intent gets a new deadline. Only safe when LINE cannot have accepted
	// it more than 24 h ago (the retry key would be new to LINE).
	Refresh bool
	// Keep leaves the dead letter in LINE_DEAD after redriving it.
	Keep bool
}

// ErrNotRedrivable is returned for a dead letter whose intent cannot be sent
// as it is (it was invalid): fix it and publish it as a new intent.
var ErrNotRedrivable = errors.New("dead letter is not redrivable")

// Redrive publishes l's intent to LINE_INTENTS again and, unless Keep,
// deletes the dead letter once the intent is stored.
func Redrive(ctx context.Context, js jetstream.JetStream, l Letter, o RedriveOptions) error {
	in, err := intent.Parse(l.Intent)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotRedrivable, err)
	}
	data := l.Intent
	if o.Refresh {
		in.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
		in.NotAfter = time.Time{}
		if data, err = json.Marshal(in); err != nil {
			return err
		}
	}
	if err := in.Validate(time.Now()); err != nil {
		return fmt.Errorf("%w: %v", ErrNotRedrivable, err)
	}
	n := l.Redrives + 1
	m := nats.NewMsg(in.Subject())
	m.Data = data
	m.Header.Set(HeaderRedrive, strconv.Itoa(n))
	m.Header.Set(jetstream.MsgIDHeader, RedriveMsgID(in.ID, n))
	if _, err := js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("redrive dead letter %d: %w", l.Seq, err)
	}
	if o.Keep {
		return nil
	}
	s, err := js.Stream(ctx, queue.DeadStream)
	if err != nil {
		return err
	}
	return s.DeleteMsg(ctx, l.Seq)
}

// RedriveMsgID is the Nats-Msg-Id of the n-th redrive of intent id (and of
// its outcome): the first delivery uses id itself.
func RedriveMsgID(id string, n int) string {
	if n <= 0 {
		return id
	}
	return id + ".redrive" + strconv.Itoa(n)
}
