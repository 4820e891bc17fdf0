package intent

import "encoding/json"

// Recipients returns how many recipients the intent addresses, for
// statistics: 1 for push, reply and markasread, the length of "to" for
// multicast, and 0 (unknown to the sender) for narrowcast and broadcast, whose
// audience LINE resolves. It returns 0 for a body it cannot read; validate
// first.
func (in *Intent) Recipients() int {
	switch in.Endpoint {
	case Push, Reply, MarkAsRead:
		return 1
	case Multicast:
		// Count the elements of "to" without decoding them: this runs for
		// every outcome the stats projection folds.
		if !in.bodyIsParsed() && !json.Valid(in.Body) {
			return 0
		}
		n := 0
		members(in.Body, func(name, value []byte) bool {
			if string(name) == "to" && isArray(value) {
				n = count(value)
			}
			return true
		})
		return n
	}
	return 0
}
