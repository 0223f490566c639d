package odata

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// docExamples are the filters shown in Microsoft's "OData filter syntax in
// Azure Web PubSub service".
var docExamples = []string{
	"userId eq 'user1'",
	"connectionId ne '123'",
	"'group1' in groups",
	"length(userId) le 10 and length(userId) gt 3",
	"length(userId) gt 10 or length(userId) le 3",
	"not endswith(userId, 'milk')",
	"userId eq null",
	"userId ne null",
	"userId in ('user1','user2')",
	"userId eq 'user1' or (not (startswith(userId,'user2')))",
	"tolower(userId) eq 'user1'",
	"toupper(userId) eq 'USER1'",
	"trim(userId) eq 'user1'",
	"substring(userId,5,2) eq 'ab'",
	"endswith(userId,'de')",
	"startswith(userId,'user')",
	"indexof(userId,'-ab-') ge 0",
	"length(userId) gt 1",
	"length(groups) gt 1",
	"length(userId) gt 0 and length(userId) lt 3 or length(userId) gt 7 and length(userId) lt 10",
	"((length(userId) gt 0) and (length(userId) lt 3)) or ((length(userId) gt 7) and (length(userId) lt 10))",
	"not length(userId) gt 5",
	"not (length(userId) gt 5)",
	"'group1' in groups or 'group2' in groups or 'group3' in groups",
	"userId in ('user1', 'user2', 'user3') and 'group1' in groups",
	"userId eq 'user1' and connectionId ne '123'",
	"userId eq 'user1' and (not ('group1' in groups))",
	"userId eq 'user''1'",
}

var fuzzSubjects = []Subject{
	alice, shout, anon, quoted, dashed, spaced, accented,
	&conn{user: "\xff\xfe", id: "", groups: []string{"", "\xff"}},
	&conn{user: "İſK", id: "ǅ", groups: []string{"ı", "k"}},
}

func FuzzParse(f *testing.F) {
	for _, e := range docExamples {
		f.Add(e)
	}
	f.Add("concat(substring(tolower(userId), 1), toupper(connectionId)) in ('a', null, 1, true)")
	f.Add("indexof(trim(userId), '') eq length(groups) and contains(userId, 'x') ne false")
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T, want *SyntaxError", expr, err)
			}
			// Messages go back to REST callers: they must be short whatever
			// the input, and valid UTF-8 whenever the input is.
			if se.Pos < 0 || se.Pos > len(expr) || se.Msg == "" || len(se.Msg) > 300 || !utf8.ValidString(se.Msg) && utf8.ValidString(expr) {
				t.Fatalf("Parse(%q) = bad error %+v", expr, se)
			}
			return
		}
		for _, s := range fuzzSubjects {
			flt.Match(s)
		}
	})
}

// FuzzText checks that the lazy case mapping behaves exactly as if tolower or
// toupper had been applied for real.
func FuzzText(f *testing.F) {
	f.Add("User1", "user1", uint8(1), uint8(0), 1, 2)
	f.Add("Ünï😀de", "ÜNÏ😀DE", uint8(2), uint8(0), 3, 1)
	f.Add("\xffA", "\uFFFDa", uint8(1), uint8(0), 0, 1)
	f.Add("\xffA", "\xffa", uint8(1), uint8(1), 1, 0)
	f.Add("İſK", "i̇sk", uint8(1), uint8(0), 0, 3)
	f.Fuzz(func(t *testing.T, a, b string, ma, mb uint8, start, n int) {
		x, y := text{s: a, m: caseMap(ma % 3)}, text{s: b, m: caseMap(mb % 3)}
		if got, want := x.equal(y), x.resolve() == y.resolve(); got != want {
			t.Errorf("%+v.equal(%+v) = %v, want %v", x, y, got, want)
		}
		if got, want := x.length(), utf8.RuneCountInString(x.resolve()); got != want {
			t.Errorf("%+v.length() = %d, want %d", x, got, want)
		}
		plain := text{s: x.resolve()}
		for _, hasN := range []bool{false, true} {
			got, gok := x.substring(start, n, hasN)
			want, wok := plain.substring(start, n, hasN)
			if gok != wok || got.resolve() != want.resolve() {
				t.Errorf("%+v.substring(%d, %d, %v) = %q, %v; want %q, %v", x, start, n, hasN, got.resolve(), gok, want.resolve(), wok)
			}
		}
	})
}
