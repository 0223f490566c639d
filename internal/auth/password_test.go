package auth

import (
	"strings"
	"testing"
)

func TestPasswordHashVerify(t *testing.T) {
	ctx := t.Context()
	h, err := newHasher(fastPassword, 2)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.hash(ctx, "s3cret passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC string with the costs inside: %s", hash)
	}
	again, _ := h.hash(ctx, "s3cret passphrase")
	if again == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if ok, rehash, err := h.verify(ctx, hash, "s3cret passphrase"); !ok || rehash || err != nil {
		t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	if ok, _, err := h.verify(ctx, hash, "s3cret passphrasf"); ok || err != nil {
		t.Fatalf("wrong password: ok=%v err=%v", ok, err)
	}
	if ok, _, err := h.verify(ctx, "", "anything"); ok || err != nil {
		t.Fatalf("no password: ok=%v err=%v", ok, err)
	}

	// Changed costs: old hashes still verify and are reported for rehashing.
	h2, err := newHasher(PasswordParams{Memory: 128, Time: 2, Threads: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h2.verify(ctx, hash, "s3cret passphrase"); !ok || !rehash || err != nil {
		t.Fatalf("after a cost change: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	if ok, rehash, _ := h2.verify(ctx, hash, "wrong"); ok || rehash {
		t.Fatal("a wrong password asks for a rehash")
	}

	for _, bad := range []string{
		"plain", "$2a$10$bcrypt", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,x=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2hvcnQ",
	} {
		if _, _, err := h.verify(ctx, bad, "x"); err == nil {
			t.Errorf("verify accepted the hash %q", bad)
		}
	}
}

func TestPasswordDefaults(t *testing.T) {
	p := PasswordParams{}.withDefaults()
	if p != (PasswordParams{Memory: 19456, Time: 2, Threads: 1}) {
		t.Fatalf("defaults %+v are not OWASP's argon2id recommendation", p)
	}
}

func TestCheckNewPassword(t *testing.T) {
	for _, tc := range []struct {
		password, want string
	}{
		{"correct horse battery", ""},
		{"ünïcödé pässwörd", ""},
		{"short", "at least 12 characters"},
		{"ééééééééééé", "at least 12 characters"}, // 11 characters, 22 bytes
		{strings.Repeat("a", maxPasswordBytes+1), "at most 1024 bytes"},
		{"administrator", "must not be the login"},
		{"ADMINISTRATOR", "must not be the login"},
		{"bad utf8 \xff\xfe\xfd", "valid UTF-8"},
	} {
		err := checkNewPassword(tc.password, "administrator", 12)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q refused: %v", Truncate(tc.password, 20), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || errorCode(err) != CodeBadRequest {
			t.Errorf("%q: got %v, want a bad request mentioning %q", Truncate(tc.password, 20), err, tc.want)
		}
	}
}

func TestRolesAndScopes(t *testing.T) {
	order := []Role{RoleAnonymous, RoleViewer, RoleEditor, RoleAdmin}
	for i, a := range order {
		for j, b := range order {
			if got := a.AtLeast(b); got != (i >= j) {
				t.Errorf("%s.AtLeast(%s) = %v", a, b, got)
			}
		}
		if Role("root").AtLeast(a) || a.AtLeast("root") || a.AtLeast("") {
			t.Errorf("an unknown role compares with %s", a)
		}
	}
	for in, want := range map[string]Role{"viewer": RoleViewer, " Editor ": RoleEditor, "ADMIN": RoleAdmin} {
		if got, err := ParseRole(in); got != want || err != nil {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "anonymous", "root", "admin'--"} {
		if _, err := ParseRole(in); errorCode(err) != CodeBadRequest {
			t.Errorf("ParseRole(%q) = %v, want a bad request", in, err)
		}
	}
	for _, tc := range []struct {
		have []Scope
		need Scope
		want bool
	}{
		{[]Scope{ScopeMetricsRead}, ScopeMetricsRead, true},
		{[]Scope{ScopeMetricsRead}, ScopeDashboardsRead, false},
		{[]Scope{ScopeMetricsWrite}, ScopeMetricsRead, true},
		{[]Scope{ScopeMetricsRead}, ScopeMetricsWrite, false},
		{[]Scope{ScopeDashboardsWrite}, ScopeDashboardsRead, true},
		{[]Scope{ScopeDashboardsRead}, ScopeDashboardsWrite, false},
		{[]Scope{ScopeAdmin}, ScopeMetricsRead, true},
		{[]Scope{ScopeAdmin}, SessionOnly, false},
		{nil, AnyScope, true},
	} {
		if got := covers(tc.have, tc.need); got != tc.want {
			t.Errorf("covers(%v, %q) = %v", tc.have, tc.need, got)
		}
	}
	if got, err := parseScopes([]string{"admin", "metrics:read", "admin"}); err != nil || encodeScopes(got) != "admin metrics:read" {
		t.Errorf("parseScopes = %v, %v", got, err)
	}
	for _, bad := range [][]string{nil, {"*"}, {""}, {"metrics:delete"}} {
		if _, err := parseScopes(bad); errorCode(err) != CodeBadRequest {
			t.Errorf("parseScopes(%q) = %v", bad, err)
		}
	}
}
