package odata

import (
	"fmt"
	"unicode/utf8"
)

// Limits on a filter expression. Microsoft documents only that filters of
// more than about 100 clauses risk being rejected; the length and depth
// limits are ours and keep parsing and evaluation cheap and shallow.
const (
	// MaxLength is the longest expression Parse accepts, in bytes.
	MaxLength = 4096
	// MaxClauses is the number of comparisons, in tests and boolean function
	// calls (startswith, endswith, contains) an expression may contain.
	MaxClauses = 100
	// MaxDepth is how deeply parentheses, not and function calls may nest.
	MaxDepth = 32
)

// Subject is one connection a filter is evaluated against. Match calls these
// methods for every connection of a broadcast, so they should neither lock
// for long nor allocate.
type Subject interface {
	FilterUserID() string // "" when the connection has no user (compares as null)
	FilterConnectionID() string
	FilterGroups() []string // groups the connection is in
}

// Filter is a compiled filter expression. The zero value is not usable; get
// one from Parse.
type Filter struct {
	root boolExpr
}

// Parse compiles expr. An empty expr yields a filter that matches every
// connection, because the service treats an empty filter parameter as an
// absent one. Errors are of type *SyntaxError.
func Parse(expr string) (*Filter, error) {
	if expr == "" {
		return &Filter{root: constBool(true)}, nil
	}
	if len(expr) > MaxLength {
		return nil, errorAt(MaxLength, "filter is %d bytes long, longer than the limit of %d bytes", len(expr), MaxLength)
	}
	if !utf8.ValidString(expr) {
		return nil, errorAt(invalidUTF8At(expr), "filter is not valid UTF-8")
	}
	p := &parser{lex: lexer{src: expr}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, errorAt(p.tok.pos, "expected an operator or the end of the filter but found %s%s", p.describe(p.tok), p.caseHint(p.tok))
	}
	if x.kind != kindBool {
		return nil, errorAt(x.pos, "the filter must be a boolean expression, but this is %s", x.kind.article())
	}
	return &Filter{root: x.b}, nil
}

// Match reports whether connection s satisfies the filter.
func (f *Filter) Match(s Subject) bool {
	return f.root.evalBool(s)
}

// SyntaxError describes why Parse rejected an expression.
type SyntaxError struct {
	Pos int    // byte offset into the expression, counted from 0
	Msg string // what is wrong, phrased for the REST caller
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: %s at position %d", e.Msg, e.Pos)
}

func errorAt(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// clip shortens a word of the input that an error message repeats, so that
// a hostile filter cannot make the error response as large as itself. Words
// are identifiers and digits, so cutting at a byte keeps valid UTF-8.
func clip(word string) string {
	const limit = 40
	if len(word) > limit {
		return word[:limit] + "..."
	}
	return word
}

func invalidUTF8At(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, w := utf8.DecodeRuneInString(s[i:]); w == 1 {
				return i
			}
		}
	}
	return len(s)
}
