package odata

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// caseMap is a tolower or toupper that has not been applied yet.
type caseMap uint8

const (
	asIs caseMap = iota
	lower
	upper
)

func (m caseMap) rune(r rune) rune {
	switch m {
	case lower:
		return unicode.ToLower(r)
	case upper:
		return unicode.ToUpper(r)
	}
	return r
}

// ascii is rune for a single-byte rune, without the table lookups.
func (m caseMap) ascii(c byte) byte {
	switch {
	case m == lower && 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	case m == upper && 'a' <= c && c <= 'z':
		return c - ('a' - 'A')
	}
	return c
}

// text is a string value during evaluation. tolower and toupper only record
// their mapping, so that the documented idiom tolower(userId) eq 'user1'
// compares rune by rune instead of allocating a mapped copy of the user id
// for every connection of every broadcast. The mapping is applied for real
// (resolve) only by the functions that need the mapped bytes.
type text struct {
	s string
	m caseMap
}

// resolve applies the pending mapping. strings.ToLower and strings.ToUpper
// map rune by rune with unicode.ToLower/ToUpper and turn each invalid byte
// into U+FFFD; equal and length rely on exactly that.
func (t text) resolve() string {
	switch t.m {
	case lower:
		return strings.ToLower(t.s)
	case upper:
		return strings.ToUpper(t.s)
	}
	return t.s
}

// equal reports whether t.resolve() == u.resolve() without building either.
func (t text) equal(u text) bool {
	if t.m == asIs && u.m == asIs {
		return t.s == u.s
	}
	if t.m == u.m && t.s == u.s {
		return true
	}
	i, j := 0, 0
	for i < len(t.s) && j < len(u.s) {
		if c, d := t.s[i], u.s[j]; c < utf8.RuneSelf && d < utf8.RuneSelf {
			if t.m.ascii(c) != u.m.ascii(d) {
				return false
			}
			i++
			j++
			continue
		}
		a, wa := utf8.DecodeRuneInString(t.s[i:])
		b, wb := utf8.DecodeRuneInString(u.s[j:])
		// A mapped value is valid UTF-8, so it never equals an unmapped one
		// that carries an invalid byte.
		if t.m == asIs && a == utf8.RuneError && wa == 1 || u.m == asIs && b == utf8.RuneError && wb == 1 {
			return false
		}
		if t.m.rune(a) != u.m.rune(b) {
			return false
		}
		i += wa
		j += wb
	}
	return i == len(t.s) && j == len(u.s)
}

// length counts code points; mapping replaces one code point (or one invalid
// byte) by one code point, so it does not change the count.
func (t text) length() int {
	return utf8.RuneCountInString(t.s)
}

// substring returns the code points [start, start+n), or those from start to
// the end when hasN is false. Like the service it yields null (ok false) when
// the range does not lie within the value. Mapping commutes with
// slicing at code point boundaries, so the result keeps t's mapping.
func (t text) substring(start int, n int, hasN bool) (text, bool) {
	from, ok := runeOffset(t.s, start)
	if !ok {
		return text{}, false
	}
	if !hasN {
		return text{s: t.s[from:], m: t.m}, true
	}
	to, ok := runeOffset(t.s[from:], n)
	if !ok {
		return text{}, false
	}
	return text{s: t.s[from : from+to], m: t.m}, true
}

// runeOffset returns the byte offset of code point i of s; i may equal the
// number of code points.
func runeOffset(s string, i int) (int, bool) {
	if i < 0 {
		return 0, false
	}
	off := 0
	for ; i > 0; i-- {
		if off == len(s) {
			return 0, false
		}
		_, w := utf8.DecodeRuneInString(s[off:])
		off += w
	}
	return off, true
}

// indexOf returns the code point index of the first sub in s, or -1.
func indexOf(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return utf8.RuneCountInString(s[:i])
}
