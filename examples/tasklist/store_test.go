package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), filepath.Join(t.TempDir(), "tasks?#.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)

	if got, err := s.List(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v; want [] and no error", got, err)
	}
	milk, err := s.Add(ctx, "Buy milk", "ada", now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Task{ID: milk.ID, Title: "Buy milk", Owner: "ada", CreatedAt: now}); milk != want {
		t.Errorf("added %+v, want %+v", milk, want)
	}
	bike, err := s.Add(ctx, "Fix bike", "bob", now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if bike.ID <= milk.ID {
		t.Errorf("ids %d then %d, want increasing", milk.ID, bike.ID)
	}

	done, changed, err := s.Complete(ctx, milk.ID, "bob")
	if err != nil || !changed {
		t.Fatalf("complete: %v, changed %v", err, changed)
	}
	if !done.Done || done.CompletedBy != "bob" || done.Owner != "ada" {
		t.Errorf("completed %+v, want done by bob, owned by ada", done)
	}
	// Completing again changes nothing: the first to complete it keeps the credit.
	again, changed, err := s.Complete(ctx, milk.ID, "ada")
	if err != nil || changed || again != done {
		t.Errorf("complete again: %+v, changed %v, %v; want %+v unchanged", again, changed, err, done)
	}
	if _, _, err := s.Complete(ctx, 999, "ada"); !errors.Is(err, ErrNotFound) {
		t.Errorf("complete a missing task: %v, want ErrNotFound", err)
	}

	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != done || got[1] != bike {
		t.Errorf("list %+v, want [%+v %+v]", got, done, bike)
	}
}

func TestStoreKeepsTasksAcrossOpens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, "Water plants", "ada", time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.List(ctx); err != nil || len(got) != 1 || got[0].Title != "Water plants" {
		t.Errorf("after reopening: %+v, %v", got, err)
	}
}
