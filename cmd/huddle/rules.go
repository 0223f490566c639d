package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/huddle-dev/huddle/internal/alerts"
)

// newRulesCommand checks Prometheus rule files as `promtool check rules` does, and words its
// report the same way, so that a rule file checked here loads in huddle and in Prometheus.
func newRulesCommand(stdout io.Writer) *cobra.Command {
	rules := &cobra.Command{Use: "rules", Short: "Work with Prometheus rule files"}
	check := &cobra.Command{
		Use:   "check FILE...",
		Short: "Check rule files as promtool check rules does (exit status 1 when any is invalid)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			failed := 0
			for _, file := range files {
				fmt.Fprintf(stdout, "Checking %s\n", file)
				groups, err := alerts.CheckFile(file)
				if err != nil {
					failed++
					fmt.Fprintf(stdout, "  FAILED:\n%v\n\n", err)
					continue
				}
				n := 0
				for _, g := range groups {
					n += len(g.Rules)
				}
				fmt.Fprintf(stdout, "  SUCCESS: %d rules found\n\n", n)
			}
			if failed > 0 {
				return errors.New("rule files are invalid")
			}
			return nil
		},
	}
	rules.AddCommand(check)
	return rules
}
