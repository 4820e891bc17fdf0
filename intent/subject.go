package intent

import "strings"

// Subject prefixes. Producers publish to SubjectPrefix.<channel>.<bot>.<endpoint>;
// the LINE_INTENTS stream stores that as line.q.<partition>.<channel>.<bot>.<endpoint>.
const (
	SubjectPrefix = "line.intents"
	// SubjectFilter matches every intent a producer may publish.
	SubjectFilter = SubjectPrefix + ".*.*.*"
)

// Subject returns the subject an intent for (channel, bot, endpoint) is
// published on.
func Subject(channel, bot string, endpoint Endpoint) string {
	var b strings.Builder
	b.Grow(len(SubjectPrefix) + len(channel) + len(bot) + len(endpoint) + 3)
	b.WriteString(SubjectPrefix)
	b.WriteByte('.')
	b.WriteString(channel)
	b.WriteByte('.')
	b.WriteString(bot)
	b.WriteByte('.')
	b.WriteString(string(endpoint))
	return b.String()
}

// Subject returns the subject in is published on.
func (in *Intent) Subject() string { return Subject(in.Channel, in.Bot, in.Endpoint) }
