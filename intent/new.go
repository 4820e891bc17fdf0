package intent

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// New builds a valid intent: a fresh v4 ID, CreatedAt now, and body encoded as
// JSON. A json.RawMessage or []byte body is taken as already-encoded JSON
// (encoding/json would base64 a []byte). Set the optional fields (Unit,
// NotAfter, Labels, RetryKey) on the result; Publish validates again.
func New(channel, bot string, endpoint Endpoint, body any) (*Intent, error) {
	var raw json.RawMessage
	switch b := body.(type) {
	case json.RawMessage:
		raw = b
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("intent: encode body: %w", err)
		}
	}
	now := time.Now()
	in := &Intent{
		ID:       uuid.NewString(),
		Channel:  channel,
		Bot:      bot,
		Endpoint: endpoint,
		Body:     raw,
		// UTC and millisecond precision keep the JSON short and readable;
		// UTC() also drops the monotonic reading, which JSON cannot carry.
		CreatedAt: now.UTC().Truncate(time.Millisecond),
	}
	if err := in.Validate(now); err != nil {
		return nil, err
	}
	return in, nil
}
