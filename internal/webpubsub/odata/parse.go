package odata

import (
	"fmt"
	"strings"
)

// kind is the static type of an expression.
type kind uint8

const (
	kindNull   kind = iota // the literal null, which can stand for a string or an integer
	kindBool               // never null
	kindInt                // null when computed from a null string
	kindString             // userId is null for a connection without a user
	kindGroups             // the groups collection, usable only with in and length
)

func (k kind) article() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "a boolean"
	case kindInt:
		return "an integer"
	case kindString:
		return "a string"
	}
	return "the groups collection"
}

// operand is a type-checked subexpression; exactly the field matching kind
// is set (none for null and groups).
type operand struct {
	kind kind
	pos  int // where the subexpression starts, for error messages
	b    boolExpr
	i    intExpr
	t    textExpr
}

func (o operand) text() textExpr {
	if o.kind == kindNull {
		return constText{}
	}
	return o.t
}

func (o operand) integer() intExpr {
	if o.kind == kindNull {
		return constInt{}
	}
	return o.i
}

func (o operand) isConst() bool {
	var ok bool
	switch o.kind {
	case kindNull:
		ok = true
	case kindBool:
		_, ok = o.b.(constBool)
	case kindInt:
		_, ok = o.i.(constInt)
	case kindString:
		_, ok = o.t.(constText)
	}
	return ok
}

// folded replaces res by its value when it does not depend on the
// connection, so that Match never recomputes (or reallocates) it.
func folded(res operand, parts ...operand) operand {
	for _, p := range parts {
		if !p.isConst() {
			return res
		}
	}
	switch res.kind {
	case kindBool:
		res.b = constBool(res.b.evalBool(nil))
	case kindInt:
		v, ok := res.i.evalInt(nil)
		res.i = constInt{v: v, ok: ok}
	case kindString:
		v, ok := res.t.evalText(nil)
		res.t = constText{v: v.resolve(), ok: ok}
	}
	return res
}

// Keywords, literals and function names are lower-case and case-sensitive in
// the OData parser the service uses. Identifier names are matched without
// regard to case: the doc marks them "case insensitive" and the emulator
// compares them that way.
var (
	keywords = map[string]bool{
		"and": true, "or": true, "not": true, "in": true,
		"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true,
		"true": true, "false": true, "null": true,
	}
	functions = map[string]bool{
		"tolower": true, "toupper": true, "trim": true, "substring": true, "concat": true,
		"indexof": true, "length": true, "startswith": true, "endswith": true, "contains": true,
	}
)

var orderings = map[string]ordering{"gt": gt, "ge": ge, "lt": lt, "le": le}

// parser is a recursive-descent parser with one token of lookahead. From
// loosest to tightest binding: or, and, comparisons (left-associative), not,
// in, primaries. in binds tighter than not, as in the OData parser the
// service uses, so not 'g' in groups negates the membership test. Recursion
// happens only through enter, which bounds it by MaxDepth.
type parser struct {
	lex     lexer
	tok     token
	depth   int
	clauses int
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) is(word string) bool {
	return p.tok.kind == tokIdent && p.tok.text == word
}

func (p *parser) enter(pos int) error {
	if p.depth++; p.depth > MaxDepth {
		return errorAt(pos, "filter nests deeper than %d levels", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) clause(pos int) error {
	if p.clauses++; p.clauses > MaxClauses {
		return errorAt(pos, "filter has more than %d clauses", MaxClauses)
	}
	return nil
}

func (p *parser) expect(kind tokenKind, what string) error {
	if p.tok.kind != kind {
		return errorAt(p.tok.pos, "expected %s but found %s%s", what, p.describe(p.tok), p.caseHint(p.tok))
	}
	return p.advance()
}

func (p *parser) describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "the end of the filter"
	case tokString:
		return "a string literal"
	}
	return "'" + clip(p.lex.src[t.pos:t.end]) + "'"
}

// caseHint helps with AND, Eq, ToLower and the like, which are the most
// likely reason a word is not recognized.
func (p *parser) caseHint(t token) string {
	if t.kind != tokIdent {
		return ""
	}
	if l := strings.ToLower(t.text); l != t.text && (keywords[l] || functions[l]) {
		return fmt.Sprintf(" (keywords and function names are lower-case: did you mean '%s'?)", l)
	}
	return ""
}

func (p *parser) parseOr() (operand, error) {
	return p.parseLogical("or", func(xs []boolExpr) boolExpr { return orExpr(xs) }, p.parseAnd)
}

func (p *parser) parseAnd() (operand, error) {
	return p.parseLogical("and", func(xs []boolExpr) boolExpr { return andExpr(xs) }, p.parseComparison)
}

// parseLogical parses a chain of one logical operator into a single n-ary
// node, which keeps the tree shallow and short-circuits in a loop.
func (p *parser) parseLogical(word string, build func([]boolExpr) boolExpr, next func() (operand, error)) (operand, error) {
	first, err := next()
	if err != nil || !p.is(word) {
		return first, err
	}
	terms := []operand{first}
	for p.is(word) {
		if err := p.advance(); err != nil {
			return operand{}, err
		}
		t, err := next()
		if err != nil {
			return operand{}, err
		}
		terms = append(terms, t)
	}
	xs := make([]boolExpr, len(terms))
	for i, t := range terms {
		if t.kind != kindBool {
			return operand{}, errorAt(t.pos, "'%s' needs boolean operands, but this is %s", word, t.kind.article())
		}
		xs[i] = t.b
	}
	return folded(operand{kind: kindBool, pos: first.pos, b: build(xs)}, terms...), nil
}

func (p *parser) parseComparison() (operand, error) {
	left, err := p.parseUnary()
	if err != nil {
		return operand{}, err
	}
	for p.tok.kind == tokIdent {
		op := p.tok.text
		if _, ok := orderings[op]; !ok && op != "eq" && op != "ne" {
			break
		}
		if err := p.clause(p.tok.pos); err != nil {
			return operand{}, err
		}
		if err := p.advance(); err != nil {
			return operand{}, err
		}
		right, err := p.parseUnary()
		if err != nil {
			return operand{}, err
		}
		if left, err = compare(op, left, right); err != nil {
			return operand{}, err
		}
	}
	return left, nil
}

func (p *parser) parseUnary() (operand, error) {
	if !p.is("not") {
		return p.parseIn()
	}
	pos := p.tok.pos
	if err := p.enter(pos); err != nil {
		return operand{}, err
	}
	if err := p.advance(); err != nil {
		return operand{}, err
	}
	x, err := p.parseUnary()
	if err != nil {
		return operand{}, err
	}
	p.leave()
	if x.kind != kindBool {
		return operand{}, errorAt(pos, "'not' needs a boolean operand, but %s follows it; not binds tighter than comparisons, so write not (a eq b)", x.kind.article())
	}
	return folded(operand{kind: kindBool, pos: pos, b: notExpr{x.b}}, x), nil
}

func (p *parser) parseIn() (operand, error) {
	x, err := p.parsePrimary()
	if err != nil || !p.is("in") {
		return x, err
	}
	if err := p.clause(p.tok.pos); err != nil {
		return operand{}, err
	}
	if err := p.advance(); err != nil {
		return operand{}, err
	}
	if x.kind == kindGroups {
		return operand{}, errorAt(x.pos, "groups cannot be the left operand of 'in'; write 'group' in groups")
	}
	if p.tok.kind != tokLParen {
		rhs, err := p.parsePrimary()
		if err != nil {
			return operand{}, err
		}
		if rhs.kind != kindGroups {
			return operand{}, errorAt(rhs.pos, "'in' needs groups or a parenthesized list on its right, but this is %s", rhs.kind.article())
		}
		return inCollection(x), nil
	}
	open := p.tok.pos
	items, err := p.parseList()
	if err != nil {
		return operand{}, err
	}
	if len(items) == 0 {
		return operand{}, errorAt(open, "'in' needs at least one item in its list")
	}
	if len(items) == 1 && items[0].kind == kindGroups {
		return inCollection(x), nil
	}
	for _, it := range items {
		if it.kind == kindGroups {
			return operand{}, errorAt(it.pos, "groups cannot be an item of an 'in' list")
		}
	}
	return inList(x, items), nil
}

// parseList parses '(' expr {',' expr} ')', the in-list and the argument list
// of a function call.
func (p *parser) parseList() ([]operand, error) {
	open := p.tok.pos
	if err := p.enter(open); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var items []operand
	if p.tok.kind != tokRParen {
		for {
			it, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			items = append(items, it)
			if p.tok.kind != tokComma {
				break
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	}
	if err := p.expect(tokRParen, "',' or ')'"); err != nil {
		return nil, err
	}
	p.leave()
	return items, nil
}

func (p *parser) parsePrimary() (operand, error) {
	t := p.tok
	switch t.kind {
	case tokString:
		return operand{kind: kindString, pos: t.pos, t: constText{v: t.text, ok: true}}, p.advance()
	case tokInt:
		return operand{kind: kindInt, pos: t.pos, i: constInt{v: t.num, ok: true}}, p.advance()
	case tokLParen:
		if err := p.enter(t.pos); err != nil {
			return operand{}, err
		}
		if err := p.advance(); err != nil {
			return operand{}, err
		}
		x, err := p.parseOr()
		if err != nil {
			return operand{}, err
		}
		if err := p.expect(tokRParen, "')'"); err != nil {
			return operand{}, err
		}
		p.leave()
		x.pos = t.pos
		return x, nil
	case tokIdent:
		return p.parseName()
	}
	return operand{}, errorAt(t.pos, "expected an expression but found %s", p.describe(t))
}

func (p *parser) parseName() (operand, error) {
	t := p.tok
	call := p.lex.nextIsLParen(t.end)
	switch {
	case t.text == "true" || t.text == "false":
		return operand{kind: kindBool, pos: t.pos, b: constBool(t.text == "true")}, p.advance()
	case t.text == "null":
		return operand{kind: kindNull, pos: t.pos}, p.advance()
	case call && functions[t.text]:
		if err := p.advance(); err != nil {
			return operand{}, err
		}
		args, err := p.parseList()
		if err != nil {
			return operand{}, err
		}
		return p.call(t, args)
	case keywords[t.text] || functions[t.text]:
		return operand{}, errorAt(t.pos, "expected an expression but found '%s'", t.text)
	case call:
		return operand{}, errorAt(t.pos, "unknown function '%s'%s", clip(t.text), p.caseHint(t))
	case strings.EqualFold(t.text, "userId"):
		return operand{kind: kindString, pos: t.pos, t: userIDExpr{}}, p.advance()
	case strings.EqualFold(t.text, "connectionId"):
		return operand{kind: kindString, pos: t.pos, t: connIDExpr{}}, p.advance()
	case strings.EqualFold(t.text, "groups"):
		return operand{kind: kindGroups, pos: t.pos}, p.advance()
	}
	if hint := p.caseHint(t); hint != "" {
		return operand{}, errorAt(t.pos, "unknown identifier '%s'%s", clip(t.text), hint)
	}
	return operand{}, errorAt(t.pos, "unknown identifier '%s'; the identifiers are userId, connectionId and groups", clip(t.text))
}

// call type-checks a function call. Arguments typed string also accept null;
// the grammar asks for integer literals in substring, and any integer
// expression is accepted there.
func (p *parser) call(name token, args []operand) (operand, error) {
	fn := name.text
	arity := func(counts ...int) error {
		for _, n := range counts {
			if len(args) == n {
				return nil
			}
		}
		what := fmt.Sprint(counts[0], " argument")
		switch {
		case len(counts) > 1:
			what = fmt.Sprint(counts[0], " or ", counts[1], " arguments")
		case counts[0] > 1:
			what += "s"
		}
		return errorAt(name.pos, "%s takes %s, got %d", fn, what, len(args))
	}
	// want checks that argument i has one of kinds, or is null.
	want := func(i int, kinds ...kind) error {
		k := args[i].kind
		if k == kindNull || k == kinds[0] || len(kinds) > 1 && k == kinds[1] {
			return nil
		}
		names := kinds[0].article()
		if len(kinds) > 1 {
			names += " or " + kinds[1].article()
		}
		return errorAt(args[i].pos, "argument %d of %s must be %s, but this is %s", i+1, fn, names, k.article())
	}
	// wantTexts checks the arity and that every argument is a string.
	wantTexts := func(n int) error {
		if err := arity(n); err != nil {
			return err
		}
		for i := range args {
			if err := want(i, kindString); err != nil {
				return err
			}
		}
		return nil
	}
	res := operand{pos: name.pos}
	switch fn {
	case "tolower", "toupper", "trim":
		if err := wantTexts(1); err != nil {
			return operand{}, err
		}
		res.kind = kindString
		switch fn {
		case "tolower":
			res.t = caseExpr{args[0].text(), lower}
		case "toupper":
			res.t = caseExpr{args[0].text(), upper}
		default:
			res.t = trimExpr{args[0].text()}
		}
	case "concat":
		if err := wantTexts(2); err != nil {
			return operand{}, err
		}
		res.kind, res.t = kindString, concatExpr{args[0].text(), args[1].text()}
	case "indexof":
		if err := wantTexts(2); err != nil {
			return operand{}, err
		}
		res.kind, res.i = kindInt, indexOfExpr{args[0].text(), args[1].text()}
	case "startswith", "endswith", "contains":
		if err := p.clause(name.pos); err != nil {
			return operand{}, err
		}
		if err := wantTexts(2); err != nil {
			return operand{}, err
		}
		f := strings.HasPrefix
		switch fn {
		case "endswith":
			f = strings.HasSuffix
		case "contains":
			f = strings.Contains
		}
		res.kind, res.b = kindBool, textPredicate{args[0].text(), args[1].text(), f}
	case "length":
		if err := arity(1); err != nil {
			return operand{}, err
		}
		if err := want(0, kindString, kindGroups); err != nil {
			return operand{}, err
		}
		res.kind = kindInt
		if args[0].kind == kindGroups {
			// Not folded: the collection is the connection's.
			res.i = groupCountExpr{}
			return res, nil
		}
		res.i = lengthExpr{args[0].text()}
	case "substring":
		if err := arity(2, 3); err != nil {
			return operand{}, err
		}
		if err := want(0, kindString); err != nil {
			return operand{}, err
		}
		e := substringExpr{x: args[0].text()}
		for i := 1; i < len(args); i++ {
			if err := want(i, kindInt); err != nil {
				return operand{}, err
			}
		}
		e.start = args[1].integer()
		if len(args) == 3 {
			e.length = args[2].integer()
		}
		res.kind, res.t = kindString, e
	}
	return folded(res, args...), nil
}

// compare type-checks a comparison. Equality accepts operands of any two
// types, as the service does, and values of different types are simply never
// equal; ordering compares integers only, as in the service, where
// userId lt 'b' is rejected.
func compare(op string, a, b operand) (operand, error) {
	for _, o := range [...]operand{a, b} {
		if o.kind == kindGroups {
			return operand{}, errorAt(o.pos, "groups is a collection; test membership with 'group' in groups or size with length(groups)")
		}
	}
	res := operand{kind: kindBool, pos: a.pos}
	ord, ordered := orderings[op]
	switch {
	case !ordered:
		res.b = equality(a, b, op == "ne")
	case a.kind == kindNull || b.kind == kindNull:
		// Ordering against null is false whatever the other operand is.
		res.b = constBool(false)
	case a.kind != kindInt:
		return operand{}, errorAt(a.pos, "'%s' compares integers, but this is %s", op, a.kind.article())
	case b.kind != kindInt:
		return operand{}, errorAt(b.pos, "'%s' compares integers, but this is %s", op, b.kind.article())
	default:
		res.b = orderInt{a.i, b.i, ord}
	}
	return folded(res, a, b), nil
}

func equality(a, b operand, ne bool) boolExpr {
	// null takes the type of the other operand.
	ka, kb := a.kind, b.kind
	if ka == kindNull {
		ka = kb
	}
	if kb == kindNull {
		kb = ka
	}
	switch {
	case ka == kindNull:
		return constBool(!ne)
	case ka != kb:
		return constBool(ne)
	case ka == kindString:
		return eqText{a.text(), b.text(), ne}
	case ka == kindInt:
		return eqInt{a.integer(), b.integer(), ne}
	case a.kind == kindNull || b.kind == kindNull:
		// A boolean is never null.
		return constBool(ne)
	}
	return eqBool{a.b, b.b, ne}
}

func inCollection(x operand) operand {
	res := operand{kind: kindBool, pos: x.pos, b: constBool(false)}
	if x.kind == kindString {
		// Groups hold only strings: other types and null are never members.
		res.b = inGroups{x.t}
	}
	return res
}

// inList rewrites x in (a, b, ...) as x eq a or x eq b ..., except for the
// common list of string literals, which becomes a set lookup.
func inList(x operand, items []operand) operand {
	res := operand{kind: kindBool, pos: x.pos}
	if x.kind == kindString && !x.isConst() {
		set := make(map[string]struct{}, len(items))
		strs := make([]string, 0, len(items))
		for _, it := range items {
			c, ok := it.t.(constText)
			if it.kind != kindString || !ok || !c.ok {
				break
			}
			set[c.v] = struct{}{}
			strs = append(strs, c.v)
		}
		if len(strs) == len(items) {
			res.b = inTextSet{x.t, set, strs}
			return res
		}
	}
	var or orExpr
	for _, it := range items {
		or = append(or, folded(operand{kind: kindBool, b: equality(x, it, false)}, x, it).b)
	}
	res.b = or
	return folded(res, append(items, x)...)
}
