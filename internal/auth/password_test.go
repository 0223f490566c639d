package auth

import (
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/roles"
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
		{"aaaaaaaaaaaaaaaa", "one character repeated"},
		{"éééééééééééé", "one character repeated"},
		{"aaaaaaaaaaaaaaab", ""},
		{"1qaz2wsx3edc", "most common passwords"},
		{"1QAZ2WSX3EDC", "most common passwords"},
	} {
		err := checkNewPassword(tc.password, "administrator", 12)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q refused: %v", httpapi.Truncate(tc.password, 20), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || errorCode(err) != httpapi.CodeBadRequest {
			t.Errorf("%q: got %v, want a bad request mentioning %q", httpapi.Truncate(tc.password, 20), err, tc.want)
		}
	}
}

// The parsing of roles and scopes answers bad requests; roles_test covers their meaning.
func TestParseRolesAndScopes(t *testing.T) {
	for in, want := range map[string]roles.Role{"viewer": roles.Viewer, " Editor ": roles.Editor, "ADMIN": roles.Admin} {
		if got, err := parseRole(in); got != want || err != nil {
			t.Errorf("parseRole(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "anonymous", "root", "admin'--"} {
		if _, err := parseRole(in); errorCode(err) != httpapi.CodeBadRequest {
			t.Errorf("parseRole(%q) = %v, want a bad request", in, err)
		}
	}
	if got, err := parseScopes([]string{"admin", "metrics:read", "admin"}); err != nil || encodeScopes(got) != "admin metrics:read" {
		t.Errorf("parseScopes = %v, %v", got, err)
	}
	for _, bad := range [][]string{nil, {"*"}, {""}, {"metrics:delete"}} {
		if _, err := parseScopes(bad); errorCode(err) != httpapi.CodeBadRequest {
			t.Errorf("parseScopes(%q) = %v", bad, err)
		}
	}
}

func TestCommonPasswordsRefusedAtAnyMinimum(t *testing.T) {
	if n := len(commonPasswords()); n != 5000 {
		t.Fatalf("%d common passwords, want 5000", n)
	}
	for _, p := range []string{"password", "qwerty", "iloveyou", "trustno1"} {
		if err := checkNewPassword(p, "someone", 6); err == nil || !strings.Contains(err.Error(), "most common") {
			t.Errorf("%q with a minimum of 6: %v, want refused as common", p, err)
		}
	}
}
