package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL pool settings, per node: several nodes share the server's max_connections (100 by
// default).
const (
	pgMaxOpenConns = 20
	pgMaxIdleConns = 5
	// Idle connections are closed after a while and all are recycled eventually, so that a pool
	// rebalances after a failover or a pooler restart.
	pgConnMaxIdleTime = 5 * time.Minute
	pgConnMaxLifetime = 30 * time.Minute
	// pgConnectTimeout applies when the URL sets no connect_timeout: a server that drops packets
	// should fail Open in seconds, not after the kernel's TCP timeout.
	pgConnectTimeout = 10 * time.Second
	// pgCancelGrace is how long a canceled statement may take to stop on the server before the
	// connection is dropped instead.
	pgCancelGrace = 5 * time.Second
)

// openPostgres opens a pool on the database rawURL names. It returns the Store and the database's
// address, without credentials, for logs and errors.
func openPostgres(ctx context.Context, rawURL string) (*Store, string, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, "", fmt.Errorf("PostgreSQL URL: %w (want postgres://user:password@host:5432/database)", err)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "huddle" // names our sessions in pg_stat_activity
	}
	// A context that ends stops the statement on the server: pgx's default handler does it by
	// breaking the connection (a cancel request goes out as it closes), so every timeout would
	// cost a reconnect. Sending the cancel request first keeps the connection for the pool; it is
	// dropped only if the server has not answered within pgCancelGrace.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: pgCancelGrace}
	}

	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(pgMaxOpenConns)
	db.SetMaxIdleConns(pgMaxIdleConns)
	db.SetConnMaxIdleTime(pgConnMaxIdleTime)
	db.SetConnMaxLifetime(pgConnMaxLifetime)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, "", fmt.Errorf("connect to PostgreSQL %s: %w (check the PostgreSQL URL and that the server accepts connections)", where, err)
	}
	return &Store{db: db, dialect: Postgres}, where, nil
}
