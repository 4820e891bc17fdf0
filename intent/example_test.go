package intent_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
)

// A Go service builds a push intent and hands it to JetStream. Once Publish
// returns without error the dispatcher owns the intent; publishing the same
// intent again (e.g. after a timeout) is de-duplicated by its ID.
func ExamplePublish() {
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}

	in, err := intent.New("2001234567", "U4af4980629e0c6b7a9b1a4f1c5e8d2aa", intent.Push, map[string]any{
		"to":       "U1b2c3d4e5f60718293a4b5c6d7e8f901",
		"messages": []map[string]string{{"type": "text", "text": "Your order has shipped."}},
	})
	if err != nil {
		log.Fatal(err) // a *intent.ValidationError: fix the input, don't retry
	}
	in.Unit = "order_shipped"
	in.NotAfter = in.CreatedAt.Add(2 * time.Hour)
	in.Labels = map[string]string{"campaign": "shipping"}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := intent.Publish(ctx, js, in)
	if err != nil {
		log.Fatal(err) // not stored for sure: publish the same intent again
	}
	fmt.Println(in.ID, ack.Sequence, ack.Duplicate)
}

func ExampleNew() {
	in, err := intent.New("2001234567", "U4af4980629e0c6b7a9b1a4f1c5e8d2aa", intent.Multicast, map[string]any{
		"to":       []string{"U1b2c3d4e5f60718293a4b5c6d7e8f901", "U0a1b2c3d4e5f60718293a4b5c6d7e8f9"},
		"messages": []map[string]string{{"type": "text", "text": "Spring sale starts tomorrow."}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.Subject())
	fmt.Println(in.Recipients(), "recipients, retry key = ID:", in.EffectiveRetryKey() == in.ID)
	// Output:
	// line.intents.2001234567.U4af4980629e0c6b7a9b1a4f1c5e8d2aa.multicast
	// 2 recipients, retry key = ID: true
}

// Decode reports every problem at once, each with the JSON path of the
// offending value; Reason gives the short machine reason that dead letters
// are filed under.
func ExampleDecode() {
	_, err := intent.Decode([]byte(`{
		"id": "6f1c2b1e-8a4f-4c3e-9d2a-1b7e5c9f0a11",
		"channel": "2001234567",
		"bot": "U4AF4980629E0C6B7A9B1A4F1C5E8D2AA",
		"endpoint": "multicast",
		"body": {"to": ["C1b2c3d4e5f60718293a4b5c6d7e8f901"], "messages": [{"type": "text", "text": ""}]},
		"untit": "spring"
	}`))
	var ve *intent.ValidationError
	if errors.As(err, &ve) {
		fmt.Println("reason:", ve.Reason())
		for _, p := range ve.Problems {
			fmt.Printf("%s: %s\n", p.Field, p.Reason)
		}
	}
	// Output:
	// reason: invalid_intent
	// untit: unknown field; did you mean "unit"?
	// bot: must be "U" and 32 lowercase hex digits, got "U4AF4980629E0C6B7A9B1A4F1C5E8D2AA"
	// createdAt: required: when the producer created the intent (RFC 3339)
	// body.to[0]: must be a user ID ("U" and 32 lowercase hex digits) or a module-channel user ID ("L…", 68 characters) (multicast takes no groups or rooms), got "C1b2c3d4e5f60718293a4b5c6d7e8f901"
	// body.messages[0].text: required: a non-empty string
}
