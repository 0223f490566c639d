package dashboard

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/grafana")

// converted is what a golden file holds: the dashboard a Grafana JSON converts to, and the list
// of what did not.
type converted struct {
	Dashboard Dashboard `json:"dashboard"`
	Skipped   []string  `json:"skipped"`
}

// generatedUID stands for a uid ConvertGrafana made up, random, in golden files.
const generatedUID = "generated"

func TestConvertGrafana(t *testing.T) {
	for _, tc := range []struct {
		name string
		// newUID: the Grafana uid is not one here, so a new one is generated.
		newUID bool
	}{
		{name: "node-exporter"},                     // rows, a collapsed row, legacy panels, mixed datasources, every variable type
		{name: "api-response"},                      // Grafana's API answer shape; values the model refuses
		{name: "nothing-convertible", newUID: true}, // Loki only: an empty dashboard and the list
		{name: "before-grafana-5"},                  // the layout of rows of spans
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "grafana", tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			d, skipped, err := ConvertGrafana(in)
			if err != nil {
				t.Fatal(err)
			}
			if tc.newUID {
				if !collab.ValidUID(d.UID) {
					t.Errorf("generated uid %q is not valid", d.UID)
				}
				d.UID = generatedUID
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // the golden files are read by people
			enc.SetIndent("", "  ")
			if err := enc.Encode(converted{d, skipped}); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("testdata", "grafana", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestConvertGrafana -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("conversion of %s differs from %s (-update rewrites it):\n%s", tc.name, golden, got)
			}
		})
	}
}

func TestConvertGrafanaRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, msg string }{
		{"malformed", `{"title":`, "malformed JSON"},
		{"not an object", `[{"title":"t"}]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"title of another type", `{"schemaVersion":39,"title":7}`, "title: unexpected JSON number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ConvertGrafana([]byte(tc.in))
			if err == nil || fieldOf(err) != "dashboard" || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v (field %q), want a bad request on dashboard saying %q", err, fieldOf(err), tc.msg)
			}
		})
	}
}

func TestLooksLikeGrafana(t *testing.T) {
	for in, want := range map[string]bool{
		`{"schemaVersion":39,"title":"t"}`:           true,
		`{"title":"t","templating":{"list":[]}}`:     true,
		`{"dashboard":{"title":"t"},"meta":{}}`:      true,
		`{"uid":"x","title":"t","panels":[]}`:        false, // huddle's model
		`{"uid":"x","title":"t","schemaversion":39}`: false, // Grafana's names are exact
		`[1]`: false,
		``:    false,
	} {
		if got := looksLikeGrafana([]byte(in)); got != want {
			t.Errorf("looksLikeGrafana(%s) = %v", in, got)
		}
	}
}

func TestForeignDatasource(t *testing.T) {
	for in, want := range map[string]string{
		``:                                    "",
		`null`:                                "",
		`"Prometheus"`:                        "",
		`"${DS_PROMETHEUS}"`:                  "",
		`"-- Mixed --"`:                       "",
		`{"type":"prometheus","uid":"${ds}"}`: "",
		`{"uid":"${DS_PROMETHEUS}"}`:          "",
		`{"type":"datasource","uid":"-- Mixed --"}`: "",
		`"-- Grafana --"`: "-- Grafana --",
		`{"type":"loki","uid":"P8E80F9AEF21F6940"}`: "loki",
		`{"type":"datasource","uid":"grafana"}`:     "grafana",
		`42`:                                        "42",
	} {
		if got := foreignDatasource(json.RawMessage(in)); got != want {
			t.Errorf("foreignDatasource(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestGrafanaColor(t *testing.T) {
	for in, want := range map[string]string{
		"rgba(50, 172, 45, 0.97)": "#32ac2df7",
		"rgb(245,54,54)":          "#f53636",
		"rgba(300, 0, 0, 1)":      "rgba(300, 0, 0, 1)", // refused by the model, listed
		"dark-red":                "dark-red",
		"#EAB839":                 "#EAB839",
	} {
		if got := grafanaColor(in); got != want {
			t.Errorf("grafanaColor(%q) = %q, want %q", in, got, want)
		}
	}
}

// The list of what was not converted is bounded, whatever the input.
func TestConvertGrafanaBoundsTheList(t *testing.T) {
	in := `{"title":"many","panels":[` + strings.Repeat(`{"type":"piechart"},`, 3*maxSkipped) + `{"type":"text"}]}`
	_, skipped, err := ConvertGrafana([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != maxSkipped+1 || skipped[maxSkipped] != "… and 401 more" {
		t.Errorf("%d lines, the last %q", len(skipped), skipped[len(skipped)-1])
	}
}

// More panels than the model holds: the first MaxPanels are kept, the others listed.
func TestConvertGrafanaKeepsMaxPanels(t *testing.T) {
	in := `{"title":"many","panels":[` + strings.Repeat(`{"type":"stat","targets":[{"expr":"up"}]},`, MaxPanels) +
		`{"id":500,"title":"one too many","type":"stat"}]}`
	d, skipped, err := ConvertGrafana([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf(`panel 500 "one too many": more than %d panels; not imported`, MaxPanels)}
	if len(d.Panels) != MaxPanels || strings.Join(skipped, "\n") != strings.Join(want, "\n") {
		t.Errorf("%d panels, skipped %q", len(d.Panels), skipped)
	}
}

// Importing a Grafana dashboard through the API: converted, stored, answered with the list.
func TestImportGrafana(t *testing.T) {
	t.Parallel()
	fixture := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "grafana", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)

		// An export as Grafana writes it, recognized by its schemaVersion.
		// Each answer is decoded into a new value: json.Unmarshal would merge it into the last.
		var res ImportResponse
		ed.expect("POST", "/api/dashboards/import", `{"dashboard":`+fixture("node-exporter")+`}`, http.StatusCreated, &res)
		if res.Dashboard.UID != "rYdddlPWk" || res.Dashboard.Version != 1 || len(res.Dashboard.Panels) != 11 || !res.Meta.CanEdit {
			t.Errorf("imported %+v %+v", res.Dashboard, res.Meta)
		}
		if !slices.Contains(res.Skipped, `panel 5 "Filesystems" (piechart): panel type not supported`) ||
			!slices.Contains(res.Skipped, `panel 9 "Errors" target A: datasource "loki" is not Prometheus`) {
			t.Errorf("skipped %q", res.Skipped)
		}
		var got Stored
		ed.expect("GET", "/api/dashboards/rYdddlPWk", nil, http.StatusOK, &got)
		if got.Dashboard.Title != "Node Exporter Full" || len(got.Dashboard.Variables) != 5 {
			t.Errorf("stored %+v", got.Dashboard)
		}

		// Grafana's uid is kept: a second import is a conflict unless it overwrites.
		ed.expectError("POST", "/api/dashboards/import", `{"dashboard":`+fixture("node-exporter")+`}`, http.StatusConflict)
		res = ImportResponse{}
		ed.expect("POST", "/api/dashboards/import", `{"overwrite":true,"dashboard":`+fixture("node-exporter")+`}`, http.StatusOK, &res)
		if res.Dashboard.Version != 2 {
			t.Errorf("overwriting import: version %d", res.Dashboard.Version)
		}

		// Grafana's API answer ({"dashboard", "meta"}) as it is.
		res = ImportResponse{}
		ed.expect("POST", "/api/dashboards/import", `{"dashboard":`+fixture("api-response")+`}`, http.StatusCreated, &res)
		if res.Dashboard.UID != "http-errors" || len(res.Dashboard.Panels) != 2 {
			t.Errorf("imported %+v", res.Dashboard)
		}

		// Nothing convertible: an empty dashboard, under a new uid, and the list.
		res = ImportResponse{}
		ed.expect("POST", "/api/dashboards/import", `{"dashboard":`+fixture("nothing-convertible")+`}`, http.StatusCreated, &res)
		if len(res.Dashboard.Panels) != 0 || res.Dashboard.Title != defaultGrafanaTitle || !collab.ValidUID(res.Dashboard.UID) || len(res.Skipped) < 5 {
			t.Errorf("imported %+v, skipped %q", res.Dashboard, res.Skipped)
		}

		// Without any field only Grafana writes, the format says which it is.
		bare := `{"title":"Bare","panels":[{"type":"singlestat","gridPos":{"w":6,"h":4},"targets":[{"expr":"up"}]}]}`
		res = ImportResponse{}
		ed.expect("POST", "/api/dashboards/import", `{"format":"grafana","dashboard":`+bare+`}`, http.StatusCreated, &res)
		if p := res.Dashboard.Panels; len(p) != 1 || p[0].Type != PanelStat || len(res.Skipped) != 0 || res.Skipped == nil {
			t.Errorf("imported %+v, skipped %#v", res.Dashboard, res.Skipped)
		}
		// … and read as huddle's, the same JSON is refused: singlestat is not a type here.
		if er := ed.expectError("POST", "/api/dashboards/import", `{"dashboard":`+bare+`}`, http.StatusBadRequest); er.Field != "panels[0].type" {
			t.Errorf("huddle's model with a Grafana type: %+v", er)
		}

		// Huddle's own model answers an empty list.
		w := ed.expect("POST", "/api/dashboards/import", map[string]any{"dashboard": sample("own")}, http.StatusCreated, nil)
		if !strings.Contains(w.Body.String(), `"skipped":[]`) {
			t.Errorf("huddle's model: %s", w.Body)
		}

		for _, tc := range []struct {
			name, body string
			status     int
			field      string
		}{
			{"malformed", `{"dashboard":{"schemaVersion":39,"title":`, 400, ""},
			{"malformed inside", `{"dashboard":{"schemaVersion":39,"panels":[}}`, 400, ""},
			{"not a dashboard", `{"format":"grafana","dashboard":[1,2]}`, 400, "dashboard"},
			{"unknown format", `{"format":"kibana","dashboard":{"title":"t"}}`, 400, "format"},
			{"huddle's model, strictly", `{"format":"huddle","dashboard":{"title":"t","schemaVersion":39}}`, 400, "schemaVersion"},
			{"wrong type in huddle's model", `{"dashboard":{"title":"t","panels":[{"gridPos":{"w":"wide"}}]}}`, 400, "dashboard.panels.gridPos.w"},
			{"too big", `{"dashboard":{"schemaVersion":39,"title":"` + strings.Repeat("t", maxDashboardBody) + `"}}`, 413, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if er := ed.expectError("POST", "/api/dashboards/import", tc.body, tc.status); er.Field != tc.field {
					t.Errorf("got %+v, want field %q", er, tc.field)
				}
			})
		}

		// A viewer override on the uid a Grafana dashboard names applies as for huddle's.
		ed.grant("rYdddlPWk", roles.Viewer)
		ed.expectError("POST", "/api/dashboards/import", `{"overwrite":true,"dashboard":`+fixture("node-exporter")+`}`, http.StatusForbidden)
	})
}

// FuzzConvertGrafana: whatever the input, ConvertGrafana does not panic, and what it returns
// without an error is a dashboard normalize accepts, with a bounded list.
func FuzzConvertGrafana(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "grafana", "*.json"))
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"panels":[{"type":"row","collapsed":true,"gridPos":{"y":-5},"panels":[{"type":"stat","gridPos":{"y":9223372036854775807,"h":-1}}]}]}`))
	f.Add([]byte(`{"templating":{"list":[{"type":"custom","name":"x","current":{"value":["$__all",1]}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, skipped, err := ConvertGrafana(data)
		if err != nil {
			return
		}
		if err := d.normalize(); err != nil {
			t.Fatalf("converted dashboard refused: %v", err)
		}
		if skipped == nil || len(skipped) > maxSkipped+1 {
			t.Fatalf("skipped: %d lines (nil: %v)", len(skipped), skipped == nil)
		}
	})
}
