package outcome

// A dead letter on LINE_DEAD carries the original intent bytes verbatim as its
// data (so a redrive republishes exactly what the producer sent, even when it
// was not valid JSON) and the outcome as headers.
const (
	// HeaderOutcome holds the JSON-encoded Outcome of the dead letter.
	HeaderOutcome = "Linedispatch-Outcome"
	// HeaderReason holds Outcome.Reason, for filtering without decoding.
	HeaderReason = "Linedispatch-Reason"
	// HeaderIntentSubject holds the subject the intent was stored under.
	HeaderIntentSubject = "Linedispatch-Intent-Subject"
)
