package linesim

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"sync/atomic"
)

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isPrefixedID reports whether s is prefix + 32 lowercase hex digits.
func isPrefixedID(s string, prefix byte) bool {
	return len(s) == 33 && s[0] == prefix && isLowerHex(s[1:])
}

// isBotID: a bot user ID, U[0-9a-f]{32}.
func isBotID(s string) bool { return isPrefixedID(s, 'U') }

// isModuleUserID: a user ID as a module channel sees it: 68 characters
// starting with L (letters, digits, '-' or '_'). Its inside is not parsed.
func isModuleUserID(s string) bool {
	if len(s) != 68 || s[0] != 'L' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isUserID: U[0-9a-f]{32} or a 68-character L ID.
func isUserID(s string) bool { return isPrefixedID(s, 'U') || isModuleUserID(s) }

// isChatID: a user, group (C…) or room (R…) ID.
func isChatID(s string) bool {
	return isUserID(s) || isPrefixedID(s, 'C') || isPrefixedID(s, 'R')
}

// parseUUID parses a UUID in hex notation (8-4-4-4-12, either case).
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// idGen issues request IDs (UUID-shaped: a random prefix and a sequence) and
// message IDs (decimal, increasing).
type idGen struct {
	prefix [8]byte
	seq    atomic.Uint64
	msg    atomic.Uint64
	salt   uint64
}

func newIDGen() *idGen {
	g := &idGen{}
	_, _ = rand.Read(g.prefix[:])
	var b [8]byte
	_, _ = rand.Read(b[:])
	g.salt = binary.LittleEndian.Uint64(b[:])
	g.msg.Store(500_000_000_000_000_000 + binary.LittleEndian.Uint64(g.prefix[:])%100_000_000_000_000)
	return g
}

// next returns a new request sequence number.
func (g *idGen) next() uint64 { return g.seq.Add(1) }

// requestID renders sequence number seq as an X-Line-Request-Id.
func (g *idGen) requestID(seq uint64) string {
	var u [16]byte
	copy(u[:8], g.prefix[:])
	binary.BigEndian.PutUint64(u[8:], seq)
	u[6] = u[6]&0x0f | 0x40 // look like a v4 UUID
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// requestSeq recovers the sequence from a request ID issued by this idGen.
func (g *idGen) requestSeq(id string) (uint64, bool) {
	u, ok := parseUUID(id)
	if !ok {
		return 0, false
	}
	for i := 0; i < 8; i++ {
		p := g.prefix[i]
		if i == 6 {
			p = p&0x0f | 0x40
		}
		if u[i] != p {
			return 0, false
		}
	}
	u[8] &= 0x3f
	seq := binary.BigEndian.Uint64(u[8:])
	return seq, true
}

// messageIDs reserves n consecutive message IDs and returns the first.
func (g *idGen) messageIDs(n int) uint64 { return g.msg.Add(uint64(n)) - uint64(n) + 1 }

func messageID(id uint64) string { return strconv.FormatUint(id, 10) }

// quoteToken derives the quote token of a message from its ID.
func (g *idGen) quoteToken(id uint64) string {
	x := (id ^ g.salt) * 0x9e3779b97f4a7c15
	return "q" + strconv.FormatUint(x, 36) + strconv.FormatUint(id, 36)
}
