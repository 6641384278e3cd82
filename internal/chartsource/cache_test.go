package chartsource

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemo(t *testing.T) {
	t.Parallel()

	t.Run("failures are retried", func(t *testing.T) {
		t.Parallel()
		var m memo[int]
		var calls atomic.Int32
		fail := errors.New("boom")
		fn := func(context.Context) (int, error) {
			if calls.Add(1) == 1 {
				return 0, fail
			}
			return 42, nil
		}
		if _, err := m.do(t.Context(), "k", fn); !errors.Is(err, fail) {
			t.Fatalf("first call = %v, want %v", err, fail)
		}
		for range 3 {
			if v, err := m.do(t.Context(), "k", fn); v != 42 || err != nil {
				t.Fatalf("later call = %d, %v, want 42", v, err)
			}
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("fn ran %d times, want 2", n)
		}
	})

	t.Run("a waiter outlives a cancelled leader", func(t *testing.T) {
		t.Parallel()
		var m memo[int]
		started := make(chan struct{})
		leaderCtx, cancelLeader := context.WithCancel(t.Context())
		leaderDone := make(chan error, 1)
		go func() {
			_, err := m.do(leaderCtx, "k", func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				return 0, ctx.Err()
			})
			leaderDone <- err
		}()
		<-started
		waiter := make(chan int, 1)
		go func() {
			v, err := m.do(t.Context(), "k", func(context.Context) (int, error) { return 7, nil })
			if err != nil {
				t.Error(err)
			}
			waiter <- v
		}()
		time.Sleep(10 * time.Millisecond) // let the waiter join the leader's call
		cancelLeader()
		if err := <-leaderDone; !errors.Is(err, context.Canceled) {
			t.Errorf("leader = %v, want context.Canceled", err)
		}
		if v := <-waiter; v != 7 {
			t.Errorf("waiter = %d, want 7 from its own retry", v)
		}
	})

	t.Run("a waiter's own context ends its wait", func(t *testing.T) {
		t.Parallel()
		var m memo[int]
		started, release := make(chan struct{}), make(chan struct{})
		defer close(release)
		go func() {
			_, _ = m.do(t.Context(), "k", func(context.Context) (int, error) {
				close(started)
				<-release
				return 1, nil
			})
		}()
		<-started
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if _, err := m.do(ctx, "k", nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waiter = %v, want context.DeadlineExceeded", err)
		}
	})
}
