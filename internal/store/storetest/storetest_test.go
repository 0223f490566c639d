package storetest

import (
	"regexp"
	"strings"
	"testing"
)

func TestDatabaseName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^huddle_[a-z0-9_]+_[0-9a-f]{8}$`)
	for _, name := range []string{"TestX", "TestX/sub_test#01", "Test/ünïcode and spaces", strings.Repeat("TestLong", 20)} {
		a, b := databaseName(name), databaseName(name)
		if !valid.MatchString(a) || len(a) > 63 {
			t.Errorf("databaseName(%q) = %q: not a short lower-case identifier", name, a)
		}
		if a == b {
			t.Errorf("databaseName(%q) returned %q twice: tests that repeat would collide", name, a)
		}
	}
}
