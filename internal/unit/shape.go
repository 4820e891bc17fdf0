package unit

// Shapes of the identifiers that become KV key tokens. They match the wire
// format's rules (intent.IsUnit, intent.IsChannelID, intent.IsUserID); the
// registry and the statistics check them again themselves because they are
// what keeps keys valid and unambiguous (no '.', '*' or '>'), whatever an
// outcome or a query carries.

// ValidName reports whether s is a customAggregationUnits name LINE accepts:
// ^[a-zA-Z0-9_]{1,30}$ (case-sensitive).
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 30 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// ValidChannel reports whether s is a module channel ID: 1 to 20 digits.
func ValidChannel(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidBot reports whether s is a bot user ID: "U" and 32 lowercase hex
// digits.
func ValidBot(s string) bool {
	if len(s) != 33 || s[0] != 'U' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
