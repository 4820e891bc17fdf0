package intent

// Shape checks for LINE identifiers and intent tokens. They are hand-written
// byte loops rather than regexps because they run on every recipient of every
// intent in the dispatcher's hot path (a multicast has up to 500).

// Limits of the envelope.
const (
	// MaxChannelLen is the most digits a channel ID may have.
	MaxChannelLen = 20
	// MaxUnitLen is the longest unit name LINE accepts (^[a-zA-Z0-9_]{1,30}$).
	MaxUnitLen = 30
	// MaxLabels is the most labels an intent may carry.
	MaxLabels = 16
	// MaxLabelKeyLen is the longest label key (bytes; keys are ASCII).
	MaxLabelKeyLen = 64
	// MaxLabelValueLen is the longest label value, in characters (code points).
	MaxLabelValueLen = 256
)

// moduleUserIDLen is the length of the user IDs a module channel sees, e.g.
// LUb577ef3cbe786a8da85ff8e902a03fc6-U5fac33f633e72c192759f09afc41fa28.
const moduleUserIDLen = 68

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isLineID reports whether s is prefix followed by 32 lowercase hex digits,
// the shape of LINE user (U), group (C) and room (R) IDs.
func isLineID(s string, prefix byte) bool {
	return len(s) == 33 && s[0] == prefix && isLowerHex(s[1:])
}

// IsUserID reports whether s is an ordinary LINE user ID (U + 32 hex digits);
// bot IDs have the same shape.
func IsUserID(s string) bool { return isLineID(s, 'U') }

// IsModuleUserID reports whether s has the shape of a user ID as seen by a
// module channel: 68 characters, "L", 33 letters or digits, "-", 33 letters or
// digits. LINE does not document the parts, so only the shape is checked
// (^L[0-9A-Za-z]{33}-[0-9A-Za-z]{33}$).
func IsModuleUserID(s string) bool {
	if len(s) != moduleUserIDLen || s[0] != 'L' || s[34] != '-' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if i != 34 && !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// isRecipientUser accepts the user IDs multicast and markAsRead take.
func isRecipientUser(s string) bool { return IsUserID(s) || IsModuleUserID(s) }

// isRecipientUserBytes is isRecipientUser on raw bytes, so that checking the
// 500 recipients of a multicast allocates nothing.
func isRecipientUserBytes(b []byte) bool {
	if len(b) == 33 {
		return b[0] == 'U' && isLowerHexBytes(b[1:])
	}
	if len(b) != moduleUserIDLen || b[0] != 'L' || b[34] != '-' {
		return false
	}
	for i := 1; i < len(b); i++ {
		if i != 34 && !isAlnum(b[i]) {
			return false
		}
	}
	return true
}

func isLowerHexBytes(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isPushTarget accepts what push's "to" takes: a user, group or room.
func isPushTarget(s string) bool {
	return isRecipientUser(s) || isLineID(s, 'C') || isLineID(s, 'R')
}

// IsChannelID reports whether s is a module channel ID: 1 to 20 digits.
func IsChannelID(s string) bool {
	if len(s) == 0 || len(s) > MaxChannelLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsUnit reports whether s is a valid customAggregationUnits name
// (^[a-zA-Z0-9_]{1,30}$).
func IsUnit(s string) bool {
	if len(s) == 0 || len(s) > MaxUnitLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// isLabelKey accepts ^[A-Za-z0-9_.\-/]{1,64}$: ASCII that is safe in logs,
// NATS headers and metric or query names, if a label ever ends up there.
func isLabelKey(s string) bool {
	if len(s) == 0 || len(s) > MaxLabelKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '.' && c != '-' && c != '/' {
			return false
		}
	}
	return true
}

// Human descriptions of the shapes above, shared by the problems that cite them.
const (
	descUser       = `a user ID ("U" and 32 lowercase hex digits) or a module-channel user ID ("L…", 68 characters)`
	descPushTarget = `a user ID ("U" and 32 lowercase hex digits), group ID ("C…"), room ID ("R…") or module-channel user ID ("L…", 68 characters)`
)
