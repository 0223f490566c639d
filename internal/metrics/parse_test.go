package metrics

import (
	"testing"
	"time"
)

func TestParseTimeAndDuration(t *testing.T) {
	times := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1700000000", time.Unix(1_700_000_000, 0), true},
		{"1700000000.123", time.Unix(1_700_000_000, 123_000_000), true},
		{"2023-11-14T22:13:20Z", time.Unix(1_700_000_000, 0), true},
		{"2023-11-14T23:13:20.5+01:00", time.Unix(1_700_000_000, 500_000_000), true},
		{"", time.Time{}, false},
		{"now", time.Time{}, false},
	}
	for _, tc := range times {
		got, err := parseTime(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	durations := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"15", 15 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"15s", 15 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"1e30", 0, false},
		{"fast", 0, false},
		{"", 0, false},
	}
	for _, tc := range durations {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"1700000000.5", "2023-11-14T22:13:20Z", "-1e18", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseTime(s) // must not panic
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"15", "1h30m", "1e30", "-5", "Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseDuration(s) // must not panic
	})
}
