package roles

import "testing"

func TestRoles(t *testing.T) {
	order := []Role{Anonymous, Viewer, Editor, Admin}
	for i, a := range order {
		for j, b := range order {
			if got := a.AtLeast(b); got != (i >= j) {
				t.Errorf("%s.AtLeast(%s) = %v", a, b, got)
			}
		}
		if Role("root").AtLeast(a) || a.AtLeast("root") || a.AtLeast("") {
			t.Errorf("an unknown role compares with %s", a)
		}
		if !a.Valid() {
			t.Errorf("%s is not valid", a)
		}
	}
	if Role("root").Valid() || Role("").Valid() {
		t.Error("an unknown role is valid")
	}
	if Lower(Admin, Viewer) != Viewer || Lower(Viewer, Editor) != Viewer {
		t.Error("Lower does not return the lesser role")
	}
	for in, want := range map[string]Role{"viewer": Viewer, " Editor ": Editor, "ADMIN": Admin} {
		if got, ok := Parse(in); got != want || !ok {
			t.Errorf("Parse(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "anonymous", "root", "admin'--"} {
		if _, ok := Parse(in); ok {
			t.Errorf("Parse(%q) accepted it", in)
		}
	}
}

func TestScopes(t *testing.T) {
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
		{[]Scope{ScopeAlertsWrite}, ScopeAlertsRead, true},
		{[]Scope{ScopeAlertsRead}, ScopeAlertsWrite, false},
		{[]Scope{ScopeDashboardsWrite}, ScopeAlertsRead, false},
		{[]Scope{ScopeAdmin}, ScopeMetricsRead, true},
		{[]Scope{ScopeAdmin}, SessionOnly, false},
		{nil, AnyScope, true},
	} {
		if got := Covers(tc.have, tc.need); got != tc.want {
			t.Errorf("Covers(%v, %q) = %v", tc.have, tc.need, got)
		}
	}
	for s, want := range map[Scope]bool{ScopeAdmin: true, ScopeMetricsRead: true, SessionOnly: false, AnyScope: false, "metrics:delete": false} {
		if s.Grantable() != want {
			t.Errorf("%q.Grantable() = %v", s, !want)
		}
	}
}
