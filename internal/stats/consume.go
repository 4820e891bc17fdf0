package stats

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// runOpts says what stream a folder reads and how it batches.
type runOpts struct {
	stream   string
	maxBatch int
	linger   time.Duration
	// until stops the run once the outcome with this sequence is folded
	// (rebuild); 0 runs until ctx ends.
	until uint64
}

// idleCheck is how long a bounded run (until > 0) waits for a message before
// asking the server whether any are left (the last ones may be deleted).
const idleCheck = time.Second

// run reads the outcome stream from just after the checkpoint with an
// ordered consumer — contiguous, in order, gaps repaired by the client
// library — folds it in batches and advances the checkpoint after each.
// Batching bounds how often a busy bot's document is rewritten: a batch
// gathers messages for up to linger after its first one.
func (f *folder) run(ctx context.Context, js jetstream.JetStream, o runOpts) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start, err := f.cp.load(ctx)
	if err != nil {
		return err
	}
	if o.until > 0 && start >= o.until {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if start > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start+1
	}
	cons, err := js.OrderedConsumer(ctx, o.stream, cfg)
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(max(2*o.maxBatch, 512)))
	if err != nil {
		return err
	}
	defer it.Stop()
	in := make(chan jetstream.Msg, o.maxBatch)
	errc := make(chan error, 1)
	go func() {
		defer close(in)
		for {
			m, err := it.Next()
			if err != nil {
				errc <- err
				return
			}
			select {
			case in <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		batch, err := collect(ctx, in, errc, o)
		if errors.Is(err, errIdle) {
			info, ierr := cons.Info(ctx)
			if ierr != nil {
				return ierr
			}
			if info.NumPending == 0 {
				return nil // nothing left to replay
			}
			continue
		}
		if err != nil {
			return err
		}
		last, groups := f.group(batch)
		if err := f.flush(ctx, groups); err != nil {
			return err
		}
		if err := f.cp.advance(ctx, last); err != nil {
			return err
		}
		if o.until > 0 && last >= o.until {
			return nil
		}
	}
}

var errIdle = errors.New("stats: no message")

// collect waits for one message, then gathers more for up to o.linger or
// until o.maxBatch.
func collect(ctx context.Context, in <-chan jetstream.Msg, errc <-chan error, o runOpts) ([]jetstream.Msg, error) {
	var idle <-chan time.Time
	if o.until > 0 {
		t := time.NewTimer(idleCheck)
		defer t.Stop()
		idle = t.C
	}
	var batch []jetstream.Msg
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-idle:
		return nil, errIdle
	case m, ok := <-in:
		if !ok {
			return nil, readerErr(errc)
		}
		batch = append(batch, m)
	}
	t := time.NewTimer(o.linger)
	defer t.Stop()
	for len(batch) < o.maxBatch {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			return batch, nil
		case m, ok := <-in:
			if !ok {
				return batch, nil // the next call reports the reader's error
			}
			batch = append(batch, m)
		}
	}
	return batch, nil
}

func readerErr(errc <-chan error) error {
	select {
	case err := <-errc:
		return err
	default:
		return jetstream.ErrMsgIteratorClosed
	}
}

// group sorts a batch by document, keeping stream order within each, and
// returns the batch's last stream sequence. Outcomes that cannot be decoded
// or attributed to a (channel, bot) are skipped: they still move the
// checkpoint, since nothing could ever fold them.
func (f *folder) group(batch []jetstream.Msg) (last uint64, groups map[string]*group) {
	groups = map[string]*group{}
	for _, m := range batch {
		md, err := m.Metadata()
		if err != nil {
			f.log.Warn().Err(err).Str("subject", m.Subject()).Msg("outcome without metadata skipped")
			continue
		}
		seq := md.Sequence.Stream
		last = max(last, seq)
		var e event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			f.log.Warn().Err(err).Uint64("seq", seq).Msg("undecodable outcome skipped")
			continue
		}
		key, month := e.docKey()
		if key == "" {
			f.log.Debug().Uint64("seq", seq).Str("subject", m.Subject()).Msg("outcome without a valid channel, bot and time: not counted")
			continue
		}
		g, ok := groups[key]
		if !ok {
			g = &group{channel: e.Channel, bot: e.Bot, month: month}
			groups[key] = g
		}
		g.seqs = append(g.seqs, seq)
		g.events = append(g.events, e)
	}
	return last, groups
}
