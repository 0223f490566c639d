package odata

import (
	"errors"
	"strings"
	"testing"
)

type conn struct {
	user, id string
	groups   []string
}

func (c *conn) FilterUserID() string       { return c.user }
func (c *conn) FilterConnectionID() string { return c.id }
func (c *conn) FilterGroups() []string     { return c.groups }

var (
	alice    = &conn{user: "user1", id: "conn-1", groups: []string{"group1", "group2"}}
	shout    = &conn{user: "USER1", id: "Conn-2", groups: []string{"Group1"}}
	anon     = &conn{id: "conn-3"}
	quoted   = &conn{user: "user'1", id: "c4", groups: []string{"it's"}}
	dashed   = &conn{user: "user-ab-de", id: "c5", groups: []string{"g"}}
	spaced   = &conn{user: " user1 ", id: "c6"}
	accented = &conn{user: "Ünï😀de", id: "c7", groups: []string{"ÜNÏ"}}
)

func TestMatch(t *testing.T) {
	tests := []struct {
		filter string
		s      Subject
		want   bool
	}{
		// The doc's examples.
		{"'group1' in groups or 'group2' in groups or 'group3' in groups", alice, true},
		{"'group1' in groups or 'group2' in groups or 'group3' in groups", dashed, false},
		{"userId in ('user1', 'user2', 'user3') and 'group1' in groups", alice, true},
		{"userId in ('user1', 'user2', 'user3') and 'group1' in groups", shout, false},
		{"userId eq 'user1' and connectionId ne '123'", alice, true},
		{"userId eq 'user1' and (not ('group1' in groups))", alice, false},
		{"userId eq 'user''1'", quoted, true},
		{"userId eq 'user''1'", alice, false},
		{"length(userId) le 10 and length(userId) gt 3", alice, true},
		{"length(userId) gt 10 or length(userId) le 3", alice, false},
		{"not endswith(userId, 'milk')", alice, true},
		{"userId eq 'user1' or (not (startswith(userId,'user2')))", dashed, true},
		{"tolower(userId) eq 'user1'", shout, true},
		{"toupper(userId) eq 'USER1'", alice, true},
		{"trim(userId) eq 'user1'", spaced, true},
		{"substring(userId,5,2) eq 'ab'", dashed, true},
		{"endswith(userId,'de')", dashed, true},
		{"startswith(userId,'user')", dashed, true},
		{"indexof(userId,'-ab-') ge 0", dashed, true},
		{"indexof(userId,'-ab-') ge 0", alice, false},
		{"length(userId) gt 1", dashed, true},
		{"length(groups) gt 1", alice, true},
		{"length(groups) gt 1", shout, false},
		{"length(userId) gt 0 and length(userId) lt 3 or length(userId) gt 7 and length(userId) lt 10", dashed, false},
		{"((length(userId) gt 0) and (length(userId) lt 3)) or ((length(userId) gt 7) and (length(userId) lt 10))", quoted, false},
		{"not (length(userId) gt 5)", alice, true},
		{"not (length(userId) gt 5)", dashed, false},

		// Comparison operators on integers.
		{"length(userId) eq 5", alice, true},
		{"length(userId) ne 5", alice, false},
		{"length(userId) gt 5", alice, false},
		{"length(userId) ge 5", alice, true},
		{"length(userId) lt 5", alice, false},
		{"length(userId) le 5", alice, true},
		{"5 eq length(userId)", alice, true},
		{"-1 lt 0", anon, true},
		{"+1 eq 1", anon, true},
		{"indexof(userId, 'x') eq -1", alice, true},

		// Values are case-sensitive; identifier names are not.
		{"userId eq 'user1'", shout, false},
		{"'group1' in groups", shout, false},
		{"connectionId eq 'conn-2'", shout, false},
		{"USERID eq 'user1'", alice, true},
		{"ConnectionID eq 'conn-1'", alice, true},
		{"'group1' in Groups", alice, true},

		// Logic and precedence.
		{"true", anon, true},
		{"false", anon, false},
		{"not false", anon, true},
		{"not not true", anon, true},
		{"true or false and false", anon, true},
		{"(true or false) and false", anon, false},
		{"false and true or true", anon, true},
		{"not true or true", anon, true},
		{"not (true or true)", anon, false},
		{"not 'group1' in groups", alice, false},
		{"not 'group1' in groups", dashed, true},
		{"userId eq 'user1' eq true", alice, true},
		{"userId eq 'user1' eq false", alice, false},
		{"startswith(userId, 'u') eq true", alice, true},
		{"true ne false", anon, true},
		{"connectionId eq 'conn-1' and userId eq 'user1' and 'group2' in groups", alice, true},
		{"connectionId eq 'conn-1' and userId eq 'user1' and 'group3' in groups", alice, false},

		// null.
		{"userId eq null", anon, true},
		{"userId eq null", alice, false},
		{"userId ne null", anon, false},
		{"null eq userId", anon, true},
		{"userId eq ''", anon, false},
		{"connectionId eq null", anon, false},
		{"null eq null", anon, true},
		{"null ne null", anon, false},
		{"length(userId) eq null", anon, true},
		{"length(userId) gt 0", anon, false},
		{"length(userId) le 0", anon, false},
		{"length(userId) gt null", alice, false},
		{"userId lt null", alice, false},
		{"tolower(userId) eq null", anon, true},
		{"substring(userId, 0) eq null", anon, true},
		{"startswith(userId, '')", anon, false},
		{"contains(userId, null)", alice, false},
		{"indexof(userId, 'u') eq -1", anon, true},
		{"userId in ('a', null)", anon, true},
		{"userId in ('a', 'b')", anon, false},
		{"userId in ('a', tolower(null))", anon, true},
		{"connectionId in ('a', tolower(null))", &conn{}, false},
		{"connectionId in ('a', '')", &conn{}, true},
		{"null in groups", alice, false},
		{"userId in groups", anon, false},
		{"true eq null", anon, false},
		{"true ne null", anon, true},

		// Values of different types are never equal.
		{"userId eq 1", alice, false},
		{"userId ne 1", alice, true},
		{"'1' eq 1", anon, false},
		{"true eq 1", anon, false},
		{"1 in groups", alice, false},
		{"userId in (1, 'user1')", alice, true},

		// in.
		{"userId in ('user1')", alice, true},
		{"userId in ('user2')", alice, false},
		{"userId in ( 'a' , 'user1' )", alice, true},
		{"tolower(userId) in ('user1', 'user2')", shout, true},
		{"tolower(userId) in ('USER1')", shout, false},
		{"'c' in (userId, connectionId, 'c')", anon, true},
		{"connectionId in (userId, 'x')", alice, false},
		{"length(userId) in (1, 5)", alice, true},
		{"'group2' in (groups)", alice, true},
		{"'group2' in ((groups))", alice, true},
		{"userId in groups", &conn{user: "g", groups: []string{"g"}}, true},
		{"tolower(userId) in groups", &conn{user: "G", groups: []string{"g"}}, true},
		{"'it''s' in groups", quoted, true},
		{"'x' in groups", anon, false},
		{"'a' in ('b', 'a')", anon, true},

		// Escapes.
		{"userId eq ''''", &conn{user: "'"}, true},
		{"userId eq 'a''''b'", &conn{user: "a''b"}, true},
		{"userId eq 'O''Brien, Jane'", &conn{user: "O'Brien, Jane"}, true},
		{"userId in ('O''Brien, Jane', 'Alice')", &conn{user: "O'Brien, Jane"}, true},
		{"userId in ('Doe, John', 'Alice')", &conn{user: "Doe, John"}, true},
		{"userId eq 'a b'", &conn{user: "a b"}, true},

		// String functions.
		{"tolower('ABC') eq 'abc'", anon, true},
		{"toupper(tolower(userId)) eq 'USER1'", shout, true},
		{"tolower(toupper(userId)) eq 'user1'", alice, true},
		{"tolower(userId) eq tolower('USER1')", shout, true},
		{"tolower(userId) eq toupper(userId)", alice, false},
		{"tolower(userId) eq tolower(connectionId)", &conn{user: "AB", id: "ab"}, true},
		{"tolower(userId) eq 'ünï😀de'", accented, true},
		{"toupper(userId) in groups", &conn{user: "ünï", groups: []string{"ÜNÏ"}}, true},
		{"trim(userId) eq userId", spaced, false},
		{"trim(userId) eq userId", alice, true},
		{"trim('  a\t') eq 'a'", anon, true},
		{"trim(tolower(' A ')) eq 'a'", anon, true},
		{"substring(userId, 1, 1) eq 's'", alice, true},
		{"substring(userId, 1) eq 'ser1'", alice, true},
		{"substring(userId, 5) eq ''", alice, true},
		{"substring(userId, 6) eq null", alice, true},
		{"substring(userId, -1) eq null", alice, true},
		{"substring(userId, 1, 5) eq null", alice, true},
		{"substring(userId, 1, 4) eq 'ser1'", alice, true},
		{"substring(userId, 1, -1) eq null", alice, true},
		{"substring(userId, 1) eq 'b'", &conn{user: ""}, false},
		{"substring(userId, 1, 2) eq 'bc'", &conn{user: "a"}, false},
		{"substring(userId, 3, 1) eq '😀'", accented, true},
		{"substring(userId, indexof(userId, '-')) eq '-ab-de'", dashed, true},
		{"substring(userId, null) eq null", dashed, true},
		{"substring(userId, 0, null) eq null", dashed, true},
		{"substring(tolower(userId), 0, 2) eq 'us'", shout, true},
		{"substring(userId, 2, 2) eq 'ER'", shout, true},
		{"concat(userId, '-x') eq 'user1-x'", alice, true},
		{"concat('x-', userId) eq 'x-user1'", alice, true},
		{"concat(userId, connectionId) eq 'user1conn-1'", alice, true},
		{"concat(userId, 'x') eq 'x'", anon, true},
		{"concat('x', userId) eq 'x'", anon, true},
		{"concat(userId, null) eq null", anon, true},
		{"concat(tolower(userId), '') eq 'user1'", shout, true},
		{"concat('', tolower(userId)) eq 'user1'", shout, true},
		{"concat(tolower(userId), '!') eq 'user1!'", shout, true},
		{"concat('a', 'b') eq 'ab'", anon, true},
		{"indexof(userId, 'ab') eq 5", dashed, true},
		{"indexof(userId, '') eq 0", dashed, true},
		{"indexof(userId, 'de') eq 4", accented, true},
		{"indexof(tolower(userId), 'user') eq 0", shout, true},
		{"length(userId) eq 6", accented, true},
		{"length(tolower(userId)) eq 6", accented, true},
		{"length('') eq 0", anon, true},
		{"length(groups) eq 0", anon, true},
		{"length((groups)) eq 2", alice, true},
		{"startswith(tolower(userId), 'us')", shout, true},
		{"endswith(toupper(userId), 'R1')", alice, true},
		{"contains(userId, 'b-d')", dashed, true},
		{"contains(userId, 'B-D')", dashed, false},
		{"contains(tolower(userId), 'ser')", shout, true},
		{"contains(userId, '')", alice, true},

		// Whitespace and parentheses.
		{"  userId\teq\r\n'user1'  ", alice, true},
		{"(userId eq 'user1')", alice, true},
		{"((((userId)))) eq ('user1')", alice, true},
		{"tolower (userId) eq 'user1'", shout, true},
		{"userId eq'user1'", alice, true},

		{"", anon, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := Parse(tt.filter)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := f.Match(tt.s); got != tt.want {
				t.Errorf("Match(%+v) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := "userId eq '" + strings.Repeat("a", MaxLength) + "'"
	tests := []struct {
		filter string
		pos    int
		msg    string
	}{
		// Lexical.
		{"userId eq 'abc", 10, "unterminated string literal"},
		{"userId eq 'it''s", 10, "unterminated string literal"},
		{"userId = 'a'", 7, "unexpected character '='; operators are words"},
		{"userId eq \"a\"", 10, "strings are quoted with single quotes"},
		{"userId eq 'a' && true", 14, "unexpected character '&'"},
		{"userId # 1", 7, "unexpected character '#'"},
		{"length(userId) gt 1.5", 18, "malformed number"},
		{"length(userId) gt 12abc", 18, "malformed number"},
		{"length(userId) gt 2147483648", 18, "integer 2147483648 is out of range"},
		{"length(userId) gt -2147483649", 18, "out of range"},
		{"userId eq - 1", 10, "unexpected character '-'"},
		{"userId eq '\xff'", 11, "not valid UTF-8"},
		{"userId eq '😀' and ü", 21, "unexpected character 'ü'"},

		// Identifiers, keywords and functions.
		{"user eq 'a'", 0, "unknown identifier 'user'; the identifiers are userId, connectionId and groups"},
		{"ab eq 1", 0, "unknown identifier 'ab'"},
		{"invalid(ab,c)", 0, "unknown function 'invalid'"},
		{"ToLower(userId) eq 'a'", 0, "unknown function 'ToLower' (keywords and function names are lower-case: did you mean 'tolower'?)"},
		{"userId EQ 'a'", 7, "expected an operator or the end of the filter but found 'EQ' (keywords and function names are lower-case: did you mean 'eq'?)"},
		{"userId eq 'a' AND true", 14, "did you mean 'and'?"},
		{"NOT true", 0, "unknown identifier 'NOT' (keywords and function names are lower-case: did you mean 'not'?)"},
		{"userId eq NULL", 10, "did you mean 'null'?"},
		{"True", 0, "did you mean 'true'?"},
		{"tolower eq 'a'", 0, "expected an expression but found 'tolower'"},
		{"userId eq and", 10, "expected an expression but found 'and'"},
		{"userId(1) eq 'a'", 0, "unknown function 'userId'"},
		{"and(1)", 0, "expected an expression but found 'and'"},
		{"groups/any(g: g eq 'a')", 6, "unexpected character '/'"},

		// Structure.
		{" ", 1, "expected an expression but found the end of the filter"},
		{"userId eq", 9, "expected an expression but found the end of the filter"},
		{"userId eq 'a' 'b'", 14, "expected an operator or the end of the filter but found a string literal"},
		{"userId eq 'a')", 13, "expected an operator or the end of the filter but found ')'"},
		{"(userId eq 'a'", 14, "expected ')' but found the end of the filter"},
		{"(userId eq 'a' or", 17, "expected an expression"},
		{"()", 1, "expected an expression but found ')'"},
		{"userId in ()", 10, "'in' needs at least one item in its list"},
		{"userId in ('a',)", 15, "expected an expression but found ')'"},
		{"userId in ('a' 'b')", 15, "expected ',' or ')' but found a string literal"},
		{"userId in 'a'", 10, "'in' needs groups or a parenthesized list on its right, but this is a string"},
		{"userId in userId", 10, "'in' needs groups"},
		{"groups in ('a')", 0, "groups cannot be the left operand of 'in'"},
		{"'a' in ('b', groups)", 13, "groups cannot be an item of an 'in' list"},
		{"'a' in groups in groups", 14, "expected an operator or the end of the filter but found 'in'"},
		{"tolower(userId", 14, "expected ',' or ')'"},
		{"substring(userId, 1, 2, 3) eq 'a'", 0, "substring takes 2 or 3 arguments, got 4"},
		{"tolower() eq 'a'", 0, "tolower takes 1 argument, got 0"},
		{"concat('a') eq 'a'", 0, "concat takes 2 arguments, got 1"},
		{"length(userId, 1) eq 1", 0, "length takes 1 argument, got 2"},
		{"startswith(userId)", 0, "startswith takes 2 arguments, got 1"},
		{"substring(userId, indexof(userId, '-') add 1) eq 'ab-de'", 39, "expected ',' or ')' but found 'add'"},

		// Types.
		{"userId", 0, "the filter must be a boolean expression, but this is a string"},
		{"length(userId)", 0, "must be a boolean expression, but this is an integer"},
		{"groups", 0, "must be a boolean expression, but this is the groups collection"},
		{"null", 0, "must be a boolean expression, but this is null"},
		{"'a'", 0, "must be a boolean expression"},
		{"not length(userId) gt 5", 0, "'not' needs a boolean operand, but an integer follows it; not binds tighter than comparisons, so write not (a eq b)"},
		{"not userId eq 'a'", 0, "'not' needs a boolean operand, but a string follows it"},
		{"( not 'a' )", 2, "'not' needs a boolean operand"},
		{"not null", 0, "'not' needs a boolean operand, but null follows it"},
		{"userId lt 1", 0, "'lt' compares integers, but this is a string"},
		{"length(userId) gt 'a'", 18, "'gt' compares integers, but this is a string"},
		{"userId gt 'a'", 0, "'gt' compares integers"},
		{"true ge false", 0, "'ge' compares integers, but this is a boolean"},
		{"groups eq null", 0, "groups is a collection"},
		{"length(userId) le groups", 18, "groups is a collection"},
		{"userId eq 'a' and userId", 18, "'and' needs boolean operands, but this is a string"},
		{"1 or true", 0, "'or' needs boolean operands, but this is an integer"},
		{"length(1) eq 1", 7, "argument 1 of length must be a string or the groups collection, but this is an integer"},
		{"length(true) eq 1", 7, "argument 1 of length must be a string"},
		{"tolower(1) eq 'a'", 8, "argument 1 of tolower must be a string, but this is an integer"},
		{"tolower(groups) eq 'a'", 8, "argument 1 of tolower must be a string, but this is the groups collection"},
		{"startswith(userId, 1)", 19, "argument 2 of startswith must be a string"},
		{"contains(userId, true)", 17, "argument 2 of contains must be a string, but this is a boolean"},
		{"substring(userId, '1') eq 'a'", 18, "argument 2 of substring must be an integer, but this is a string"},
		{"substring(1, 1) eq 'a'", 10, "argument 1 of substring must be a string"},
		{"indexof(groups, 'a') eq 0", 8, "argument 1 of indexof must be a string"},
		{"concat(userId, 1) eq 'a'", 15, "argument 2 of concat must be a string"},
		{"substring(userId, length(userId) ne 0) eq 'a'", 18, "argument 2 of substring must be an integer, but this is a boolean"},
		{"trim(userId eq 'a') eq 'a'", 5, "argument 1 of trim must be a string, but this is a boolean"},

		// Limits.
		{strings.Repeat("z", 100) + " eq 'a'", 0, "unknown identifier '" + strings.Repeat("z", 40) + "...'; the identifiers"},
		{"length(userId) gt " + strings.Repeat("9", 100), 18, "integer " + strings.Repeat("9", 40) + "... is out of range"},
		{long, MaxLength, "filter is 4108 bytes long, longer than the limit of 4096 bytes"},
		{strings.Repeat("(", MaxDepth+1) + "true" + strings.Repeat(")", MaxDepth+1), MaxDepth, "filter nests deeper than 32 levels"},
		{strings.Repeat("not ", MaxDepth+1) + "true", 4 * MaxDepth, "filter nests deeper than 32 levels"},
		{strings.Repeat("tolower(", MaxDepth+1) + "userId" + strings.Repeat(")", MaxDepth+1) + " eq 'a'", 8*MaxDepth + 7, "filter nests deeper than 32 levels"},
		{"'a' in " + strings.Repeat("(", MaxDepth+1) + "groups" + strings.Repeat(")", MaxDepth+1), 7 + MaxDepth, "nests deeper"},
		{clauses(MaxClauses+1, "userId eq 'a'"), clausePos(MaxClauses+1, "userId eq 'a'", 7), "filter has more than 100 clauses"},
		{clauses(MaxClauses+1, "'g' in groups"), clausePos(MaxClauses+1, "'g' in groups", 4), "more than 100 clauses"},
		{clauses(MaxClauses+1, "contains(userId,'x')"), clausePos(MaxClauses+1, "contains(userId,'x')", 0), "more than 100 clauses"},
	}
	for _, tt := range tests {
		name := tt.filter
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			f, err := Parse(tt.filter)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v, %v; want a *SyntaxError", f, err)
			}
			if se.Pos != tt.pos || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Parse error = %q at %d, want %q at %d", se.Msg, se.Pos, tt.msg, tt.pos)
			}
		})
	}
}

// clauses joins n copies of clause with or.
func clauses(n int, clause string) string {
	return strings.Repeat(clause+" or ", n-1) + clause
}

// clausePos is where the n-th clause's operator (at offset within the
// clause) starts in clauses(n, clause).
func clausePos(n int, clause string, offset int) int {
	return (n-1)*len(clause+" or ") + offset
}

func TestLimitsAccepted(t *testing.T) {
	tests := map[string]string{
		"longest":   "userId eq '" + strings.Repeat("a", MaxLength-12) + "'",
		"deepest":   strings.Repeat("(", MaxDepth) + "true" + strings.Repeat(")", MaxDepth),
		"not chain": strings.Repeat("not ", MaxDepth) + "true",
		"clauses":   clauses(MaxClauses, "userId eq 'a'"),
		"long list": "userId in (" + strings.Repeat("'u',", 500) + "'user1')",
	}
	for name, filter := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(filter); err != nil {
				t.Fatalf("Parse(%d bytes): %v", len(filter), err)
			}
		})
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("userId eq")
	want := "filter: expected an expression but found the end of the filter at position 9"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// Parse folds what does not depend on the connection, so a constant filter
// must not look at the connection at all.
func TestConstantFolding(t *testing.T) {
	for _, filter := range []string{
		"concat('a', 'b') eq 'ab'",
		"tolower('ABC') eq 'abc' and length('ab') eq 2",
		"'a' in ('b', 'a')",
		"not (1 gt 2)",
		"userId eq 1",
		"null eq null",
		"userId gt null",
	} {
		t.Run(filter, func(t *testing.T) {
			f, err := Parse(filter)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := f.root.(constBool); !ok {
				t.Errorf("root is %T, want constBool", f.root)
			}
		})
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	filters := []string{
		"userId eq 'user1'",
		"userId in ('user1', 'user2', 'user3') and 'group1' in groups",
		"tolower(userId) eq 'user1'",
		"tolower(userId) in ('user1', 'user2')",
		"toupper(userId) in groups",
		"not startswith(userId, 'x') and endswith(connectionId, '2') or contains(userId, 'S')",
		"substring(tolower(userId), 1, 3) eq 'ser' and length(groups) ge 1",
		"indexof(userId, 'R') ge 0 and length(trim(userId)) gt 3",
		"concat(userId, '') eq 'USER1' and concat(null, connectionId) ne null",
		"userId eq null or connectionId ne null",
	}
	for _, filter := range filters {
		t.Run(filter, func(t *testing.T) {
			f, err := Parse(filter)
			if err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(100, func() { f.Match(shout) }); n != 0 {
				t.Errorf("Match allocates %v times", n)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	subjects := []Subject{alice, shout, anon, dashed}
	for _, filter := range []string{
		"userId eq 'user1'",
		"'group1' in groups or 'group2' in groups or 'group3' in groups",
		"userId in ('user1', 'user2', 'user3', 'user4', 'user5', 'user6', 'user7', 'user8') and 'group1' in groups",
		"tolower(userId) eq 'user1'",
		"startswith(tolower(userId), 'user')",
		"concat(userId, connectionId) eq 'user1conn-1'",
	} {
		f, err := Parse(filter)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filter, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				f.Match(subjects[i%len(subjects)])
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("userId in ('user1', 'user2', 'user3') and 'group1' in groups and not startswith(connectionId, 'x')"); err != nil {
			b.Fatal(err)
		}
	}
}
