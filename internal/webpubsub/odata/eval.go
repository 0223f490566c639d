package odata

import "strings"

// The compiled expression is a tree of typed nodes: the parser has checked
// every operand's type, so evaluation needs no boxing, no type switches and
// no error paths. An ok result of false means null.
type (
	boolExpr interface{ evalBool(s Subject) bool }
	intExpr  interface{ evalInt(s Subject) (int, bool) }
	textExpr interface{ evalText(s Subject) (text, bool) }
)

// Constants, including every subexpression folded at Parse time. They never
// touch the Subject, which is how folding can evaluate them with a nil one.
type (
	constBool bool
	constInt  struct {
		v  int
		ok bool
	}
	constText struct {
		v  string
		ok bool
	}
)

type (
	userIDExpr     struct{}
	connIDExpr     struct{}
	groupCountExpr struct{}
)

func (c constBool) evalBool(Subject) bool         { return bool(c) }
func (c constInt) evalInt(Subject) (int, bool)    { return c.v, c.ok }
func (c constText) evalText(Subject) (text, bool) { return text{s: c.v}, c.ok }
func (userIDExpr) evalText(s Subject) (text, bool) {
	id := s.FilterUserID()
	return text{s: id}, id != ""
}
func (connIDExpr) evalText(s Subject) (text, bool)   { return text{s: s.FilterConnectionID()}, true }
func (groupCountExpr) evalInt(s Subject) (int, bool) { return len(s.FilterGroups()), true }

type andExpr []boolExpr

func (e andExpr) evalBool(s Subject) bool {
	for _, x := range e {
		if !x.evalBool(s) {
			return false
		}
	}
	return true
}

type orExpr []boolExpr

func (e orExpr) evalBool(s Subject) bool {
	for _, x := range e {
		if x.evalBool(s) {
			return true
		}
	}
	return false
}

type notExpr struct{ x boolExpr }

func (e notExpr) evalBool(s Subject) bool { return !e.x.evalBool(s) }

// Equality treats null as a value: null eq null is true, null eq 'a' false.
type eqText struct {
	a, b textExpr
	ne   bool
}

func (e eqText) evalBool(s Subject) bool {
	a, aok := e.a.evalText(s)
	b, bok := e.b.evalText(s)
	return (aok == bok && (!aok || a.equal(b))) != e.ne
}

type eqInt struct {
	a, b intExpr
	ne   bool
}

func (e eqInt) evalBool(s Subject) bool {
	a, aok := e.a.evalInt(s)
	b, bok := e.b.evalInt(s)
	return (aok == bok && (!aok || a == b)) != e.ne
}

type eqBool struct {
	a, b boolExpr
	ne   bool
}

func (e eqBool) evalBool(s Subject) bool { return (e.a.evalBool(s) == e.b.evalBool(s)) != e.ne }

type ordering uint8

const (
	gt ordering = iota
	ge
	lt
	le
)

// orderInt is gt, ge, lt or le; any null operand makes it false.
type orderInt struct {
	a, b intExpr
	op   ordering
}

func (e orderInt) evalBool(s Subject) bool {
	a, aok := e.a.evalInt(s)
	b, bok := e.b.evalInt(s)
	if !aok || !bok {
		return false
	}
	switch e.op {
	case gt:
		return a > b
	case ge:
		return a >= b
	case lt:
		return a < b
	}
	return a <= b
}

// inTextSet is x in ('a','b',...) with only non-null string literals, the
// common way to address a list of users; the set is built once at Parse time.
type inTextSet struct {
	x     textExpr
	set   map[string]struct{}
	items []string
}

func (e inTextSet) evalBool(s Subject) bool {
	v, ok := e.x.evalText(s)
	if !ok {
		return false
	}
	if v.m == asIs {
		_, hit := e.set[v.s]
		return hit
	}
	for _, it := range e.items {
		if v.equal(text{s: it}) {
			return true
		}
	}
	return false
}

type inGroups struct{ x textExpr }

func (e inGroups) evalBool(s Subject) bool {
	v, ok := e.x.evalText(s)
	if !ok {
		return false
	}
	for _, g := range s.FilterGroups() {
		if v.equal(text{s: g}) {
			return true
		}
	}
	return false
}

// textPredicate is startswith, endswith or contains; null operands make it
// false.
type textPredicate struct {
	a, b textExpr
	f    func(s, sub string) bool
}

func (e textPredicate) evalBool(s Subject) bool {
	a, aok := e.a.evalText(s)
	b, bok := e.b.evalText(s)
	return aok && bok && e.f(a.resolve(), b.resolve())
}

type lengthExpr struct{ x textExpr }

func (e lengthExpr) evalInt(s Subject) (int, bool) {
	v, ok := e.x.evalText(s)
	if !ok {
		return 0, false
	}
	return v.length(), true
}

// indexOfExpr yields -1, not null, when an operand is null, as the service does.
type indexOfExpr struct{ a, b textExpr }

func (e indexOfExpr) evalInt(s Subject) (int, bool) {
	a, aok := e.a.evalText(s)
	b, bok := e.b.evalText(s)
	if !aok || !bok {
		return -1, true
	}
	return indexOf(a.resolve(), b.resolve()), true
}

type caseExpr struct {
	x textExpr
	m caseMap
}

func (e caseExpr) evalText(s Subject) (text, bool) {
	v, ok := e.x.evalText(s)
	if !ok {
		return text{}, false
	}
	if v.m != asIs {
		v.s = v.resolve()
	}
	return text{s: v.s, m: e.m}, true
}

type trimExpr struct{ x textExpr }

func (e trimExpr) evalText(s Subject) (text, bool) {
	v, ok := e.x.evalText(s)
	if !ok {
		return text{}, false
	}
	return text{s: strings.TrimSpace(v.resolve())}, true
}

type substringExpr struct {
	x      textExpr
	start  intExpr
	length intExpr // nil for the two-argument form
}

func (e substringExpr) evalText(s Subject) (text, bool) {
	v, ok := e.x.evalText(s)
	if !ok {
		return text{}, false
	}
	start, ok := e.start.evalInt(s)
	if !ok {
		return text{}, false
	}
	if e.length == nil {
		return v.substring(start, 0, false)
	}
	n, ok := e.length.evalInt(s)
	if !ok {
		return text{}, false
	}
	return v.substring(start, n, true)
}

// concatExpr treats a null operand as absent: concat(null, 'a') is 'a', and
// only concat(null, null) is null.
type concatExpr struct{ a, b textExpr }

func (e concatExpr) evalText(s Subject) (text, bool) {
	a, aok := e.a.evalText(s)
	b, bok := e.b.evalText(s)
	switch {
	case !aok || aok && bok && a.s == "":
		return b, bok
	case !bok || b.s == "":
		return a, true
	}
	return text{s: a.resolve() + b.resolve()}, true
}
