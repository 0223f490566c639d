//go:build !linux

package collect

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
)

// newHostSource keeps the host job where node_exporter's Linux collectors
// do not run: every collection fails with the reason, so up{job="node"} is
// 0 and the log says why the host's series are missing.
func newHostSource(*slog.Logger) (source, error) {
	return unsupportedHost{}, nil
}

type unsupportedHost struct{}

func (unsupportedHost) collect(context.Context, *batch) error {
	return fmt.Errorf("host metrics are collected on Linux only, not %s: disable the host job", runtime.GOOS)
}
