package openstack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// StepError is a step that failed, or did not run because a step it needs failed.
type StepError struct {
	Services []string
	// Skipped names the failed services that kept this step from running.
	Skipped []string
	Err     error
}

func (e *StepError) Error() string {
	if len(e.Skipped) > 0 {
		return fmt.Sprintf("%s not done: %s failed first", strings.Join(e.Services, " and "), strings.Join(e.Skipped, ", "))
	}
	return fmt.Sprintf("%s: %v", strings.Join(e.Services, " and "), e.Err)
}
func (e *StepError) Unwrap() error { return e.Err }

// Run runs do for every step of a plan, at most parallel at a time (at least one), each
// as soon as the steps it comes after are done, so that the whole takes about as long as
// the plan's longest chain of steps rather than the sum of all. In reverse (a destroy),
// each step waits instead for the steps that come after it. A step that fails keeps the
// steps that need it from running; the others go on. The error joins a *StepError for each
// step that failed or did not run; a step not started when ctx ends fails with ctx's error.
func Run(ctx context.Context, steps []Step, parallel int, reverse bool, do func(context.Context, Step) error) error {
	if parallel < 1 {
		parallel = 1
	}
	// waitsFor[i] are the steps i waits for, in the direction of the run.
	waitsFor := make([][]int, len(steps))
	for i, st := range steps {
		for _, a := range st.After {
			if reverse {
				waitsFor[a] = append(waitsFor[a], i)
			} else {
				waitsFor[i] = append(waitsFor[i], a)
			}
		}
	}
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		done    = make([]bool, len(steps))
		failed  = make([]bool, len(steps))
		errs    = make([]error, len(steps))
		sem     = make(chan struct{}, parallel)
		started = make([]bool, len(steps))
		running int
		wg      sync.WaitGroup
	)
	// blockedBy returns the failed services among what i waits for (those of a skipped step
	// are the ones that kept it from running) and whether everything it waits for is done.
	blockedBy := func(i int) ([]string, bool) {
		var failedNames []string
		ready := true
		for _, w := range waitsFor[i] {
			switch {
			case failed[w]:
				if errs[w] != nil {
					var se *StepError
					if errors.As(errs[w], &se) && len(se.Skipped) > 0 {
						failedNames = append(failedNames, se.Skipped...)
					} else {
						failedNames = append(failedNames, steps[w].Services...)
					}
				}
			case !done[w]:
				ready = false
			}
		}
		return failedNames, ready
	}
	mu.Lock()
	for remaining := len(steps); remaining > 0; {
		progressed := false
		for i := range steps {
			if started[i] {
				continue
			}
			failedNames, ready := blockedBy(i)
			if !ready {
				continue
			}
			started[i], progressed = true, true
			if len(failedNames) > 0 {
				failed[i], done[i] = true, true
				errs[i] = &StepError{Services: steps[i].Services, Skipped: dedupe(failedNames)}
				remaining--
				continue
			}
			if err := ctx.Err(); err != nil {
				failed[i], done[i] = true, true
				errs[i] = &StepError{Services: steps[i].Services, Err: err}
				remaining--
				continue
			}
			wg.Add(1)
			running++
			go func(i int) {
				defer wg.Done()
				var err error
				select {
				case sem <- struct{}{}:
					// A step that waited for its turn past the end of ctx does not start.
					if err = ctx.Err(); err == nil {
						err = do(ctx, steps[i])
					}
					<-sem
				case <-ctx.Done():
					err = ctx.Err()
				}
				mu.Lock()
				defer mu.Unlock()
				running--
				done[i] = true
				if err != nil {
					failed[i] = true
					errs[i] = &StepError{Services: steps[i].Services, Err: err}
				}
				cond.Broadcast()
			}(i)
		}
		if progressed {
			continue
		}
		if running == 0 {
			// Only a plan whose steps wait in a circle gets here.
			for i := range steps {
				if !started[i] {
					errs[i] = &StepError{Services: steps[i].Services, Err: errors.New("waits for a step that never runs")}
					done[i] = true
				}
			}
			break
		}
		cond.Wait()
		remaining = 0
		for i := range steps {
			if !done[i] {
				remaining++
			}
		}
	}
	mu.Unlock()
	wg.Wait()
	return errors.Join(errs...)
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// CriticalPath is how long the plan takes at the least when each step takes duration and
// enough run at once: the longest chain of steps.
func CriticalPath(steps []Step, duration func(Step) time.Duration) time.Duration {
	finish := make([]time.Duration, len(steps))
	var longest time.Duration
	for i, st := range steps {
		var start time.Duration
		for _, a := range st.After {
			start = max(start, finish[a])
		}
		finish[i] = start + duration(st)
		longest = max(longest, finish[i])
	}
	return longest
}
