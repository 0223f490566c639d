package odata

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokInt
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind     tokenKind
	pos, end int    // byte range in the source
	text     string // identifier name, or the unescaped value of a string literal
	num      int    // value of an integer literal
}

// lexer produces tokens on demand so that Parse stops at the first error
// without tokenizing the rest of a possibly hostile input.
type lexer struct {
	src string
	off int
}

func (l *lexer) skipSpace(off int) int {
	for off < len(l.src) && isSpace(l.src[off]) {
		off++
	}
	return off
}

func (l *lexer) next() (token, error) {
	start := l.skipSpace(l.off)
	l.off = start
	if start == len(l.src) {
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	c := l.src[start]
	switch {
	case c == '(':
		return l.single(tokLParen), nil
	case c == ')':
		return l.single(tokRParen), nil
	case c == ',':
		return l.single(tokComma), nil
	case c == '\'':
		return l.stringLiteral()
	case isDigit(c) || (c == '-' || c == '+') && start+1 < len(l.src) && isDigit(l.src[start+1]):
		return l.integer()
	case isIdentStart(c):
		end := start + 1
		for end < len(l.src) && isIdentPart(l.src[end]) {
			end++
		}
		l.off = end
		return token{kind: tokIdent, pos: start, end: end, text: l.src[start:end]}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	var hint string
	switch r {
	case '=', '!', '<', '>', '&', '|':
		hint = "; operators are words: eq, ne, gt, ge, lt, le, and, or, not"
	case '"':
		hint = "; strings are quoted with single quotes, and a quote inside one is doubled: 'it''s'"
	}
	return token{}, errorAt(start, "unexpected character %q%s", r, hint)
}

func (l *lexer) single(kind tokenKind) token {
	l.off++
	return token{kind: kind, pos: l.off - 1, end: l.off}
}

// stringLiteral reads a quoted literal in which a doubled quote stands for one
// quote. The value is a slice of the source unless it contains an escape.
func (l *lexer) stringLiteral() (token, error) {
	start := l.off
	var b strings.Builder
	escaped := false
	seg := start + 1
	for i := seg; i < len(l.src); i++ {
		if l.src[i] != '\'' {
			continue
		}
		if i+1 < len(l.src) && l.src[i+1] == '\'' {
			b.WriteString(l.src[seg : i+1])
			escaped = true
			seg = i + 2
			i++
			continue
		}
		val := l.src[seg:i]
		if escaped {
			b.WriteString(val)
			val = b.String()
		}
		l.off = i + 1
		return token{kind: tokString, pos: start, end: l.off, text: val}, nil
	}
	return token{}, errorAt(start, "unterminated string literal (a quote inside a string is written as two quotes: 'it''s')")
}

func (l *lexer) integer() (token, error) {
	start := l.off
	end := start + 1
	for end < len(l.src) && isDigit(l.src[end]) {
		end++
	}
	if end < len(l.src) && (isIdentPart(l.src[end]) || l.src[end] == '.') {
		return token{}, errorAt(start, "malformed number; only integers are supported")
	}
	text := l.src[start:end]
	// The service reads integer literals as 32-bit values.
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return token{}, errorAt(start, "integer %s is out of range (%d to %d)", clip(text), int32(-1<<31), int32(1<<31-1))
	}
	l.off = end
	return token{kind: tokInt, pos: start, end: end, num: int(n)}, nil
}

// nextIsLParen reports whether the first non-space byte after off is '('; it
// tells a function call from an identifier without consuming anything.
func (l *lexer) nextIsLParen(off int) bool {
	off = l.skipSpace(off)
	return off < len(l.src) && l.src[off] == '('
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }
