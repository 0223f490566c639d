package collab

import (
	"encoding/json"
	"os"
	"testing"
)

// The browser recognises dashboard uids by the rule in web/src/ids.json: it must be this one.
func TestBrowserSharesTheUIDRule(t *testing.T) {
	data, err := os.ReadFile("../../web/src/ids.json")
	if err != nil {
		t.Fatal(err)
	}
	var ids struct {
		DashboardUID string `json:"dashboardUID"`
	}
	if err := json.Unmarshal(data, &ids); err != nil {
		t.Fatalf("web/src/ids.json: %v", err)
	}
	if ids.DashboardUID != UIDPattern {
		t.Fatalf("web/src/ids.json has dashboardUID %q; the server's rule is %q", ids.DashboardUID, UIDPattern)
	}
}

func TestValidUID(t *testing.T) {
	for uid, want := range map[string]bool{
		"ops": true, "this-host": true, "A_1": true, "": false, "a.b": false, "a*": false, "a?": false, "é": false,
		string(make([]byte, 65)): false,
	} {
		if got := ValidUID(uid); got != want {
			t.Errorf("ValidUID(%q) = %v", uid, got)
		}
	}
}
