package alerts

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

// FileGroup is a rule group read from a Prometheus rule file. Such groups are read-only over
// HTTP: the file is their source of truth.
type FileGroup struct {
	File  string
	Group GroupSpec
}

// LoadFiles reads every rule file the globs match, in Prometheus's format, unchanged. The error
// lists every problem of every file, each as "file:line:col: message" as promtool words it, so
// that start-up names exactly what to fix. A group name may appear in one file only.
func LoadFiles(globs []string) ([]FileGroup, error) {
	var files []string
	for _, glob := range globs {
		matches, err := filepath.Glob(glob)
		if err != nil {
			return nil, fmt.Errorf("rule file pattern %q: %w", glob, err)
		}
		files = append(files, matches...)
	}
	sort.Strings(files)
	var (
		out     []FileGroup
		details []string
		seen    = map[string]string{}
	)
	for _, file := range files {
		groups, err := CheckFile(file)
		if err != nil {
			details = append(details, err.Error())
			continue
		}
		for _, g := range groups {
			if other, dup := seen[g.Name]; dup {
				details = append(details, fmt.Sprintf("%s: group %q is also defined in %s", file, g.Name, other))
				continue
			}
			seen[g.Name] = file
			out = append(out, FileGroup{File: file, Group: g})
		}
	}
	if len(details) > 0 {
		return nil, errors.New("rule files: " + strings.Join(details, "\n"))
	}
	return out, nil
}

// CheckFile validates one Prometheus rule file as `promtool check rules` does and returns its
// groups normalized (severity from each alerting rule's `severity` label). It is what
// `huddle rules check` runs.
func CheckFile(file string) ([]GroupSpec, error) {
	parsed, errs := rulefmt.ParseFile(file, false, model.UTF8Validation)
	if len(errs) > 0 {
		// rulefmt names the file, and the line and column where the YAML says them.
		lines := make([]string, len(errs))
		for i, err := range errs {
			lines[i] = err.Error()
		}
		return nil, errors.New(strings.Join(lines, "\n"))
	}
	var (
		out     []GroupSpec
		details []string
	)
	for _, pg := range parsed.Groups {
		g := fromPrometheus(pg)
		if err := g.Normalize(); err != nil {
			details = append(details, file+": "+err.Error())
			continue
		}
		out = append(out, g)
	}
	if len(details) > 0 {
		return nil, errors.New(strings.Join(details, "\n"))
	}
	return out, nil
}
