package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

type fakeModel struct{ Name, Computed string }

type recordingState struct{ saved *fakeModel }

func (r *recordingState) Set(_ context.Context, v any) diag.Diagnostics {
	m := *(v.(*fakeModel))
	r.saved = &m
	return nil
}

func fakeLifecycle(applyErr error, exists bool, readErr error) *lifecycle[fakeModel, struct{}, struct{}] {
	return &lifecycle[fakeModel, struct{}, struct{}]{
		kind: "fake", noun: "fake",
		id: func(m *fakeModel) string { return m.Name },
		apply: func(o *op[fakeModel, struct{}, struct{}], _ *fakeModel) bool {
			if applyErr != nil {
				o.fail(applyErr)
			}
			return exists
		},
		read: func(_ context.Context, _ struct{}, m *fakeModel, _ *struct{}, _ *diag.Diagnostics) error {
			if readErr != nil {
				return readErr
			}
			m.Computed = "read"
			return nil
		},
		diagnose: func(diags *diag.Diagnostics, host string, m *fakeModel, action string, timeout time.Duration, err error) {
			objectErrors{title: "Fake", subject: "fake " + m.Name}.add(diags, host, action, timeout, err)
		},
		timeouts: func(*fakeModel) timeouts.Value { return timeouts.Value{} },
	}
}

func runFake(l *lifecycle[fakeModel, struct{}, struct{}], prior *fakeModel) (*recordingState, diag.Diagnostics) {
	var diags diag.Diagnostics
	o := &op[fakeModel, struct{}, struct{}]{l: l, plan: fakeModel{Name: "a"}, action: actionCreating, timeout: time.Minute, diags: &diags}
	if prior != nil {
		o.action = actionUpdating
	}
	into := &recordingState{}
	l.run(context.Background(), o, prior, into, nil)
	return into, diags
}

func TestLifecycleRun(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	t.Run("saves what it reads back", func(t *testing.T) {
		into, diags := runFake(fakeLifecycle(nil, true, nil), nil)
		if diags.HasError() || into.saved == nil || into.saved.Computed != "read" {
			t.Fatalf("saved %v, %v", into.saved, diags)
		}
	})
	t.Run("saves nothing when nothing exists", func(t *testing.T) {
		into, diags := runFake(fakeLifecycle(boom, false, nil), nil)
		if !diags.HasError() || into.saved != nil {
			t.Fatalf("saved %v, %v", into.saved, diags)
		}
	})
	t.Run("saves what exists after a failure", func(t *testing.T) {
		into, diags := runFake(fakeLifecycle(boom, true, nil), nil)
		if !diags.HasError() || into.saved == nil {
			t.Fatalf("saved %v, %v", into.saved, diags)
		}
	})
	t.Run("a created object that cannot be read back is recorded through unread", func(t *testing.T) {
		l := fakeLifecycle(boom, true, &kube.ObjectError{Action: "reading", Object: "X a", Err: errors.New("forbidden")})
		l.unread = func(m *fakeModel) { m.Computed = "from the plan" }
		into, diags := runFake(l, nil)
		if !diags.HasError() || into.saved == nil || into.saved.Computed != "from the plan" {
			t.Fatalf("saved %v, %v", into.saved, diags)
		}
		if into, _ := runFake(l, &fakeModel{Name: "a"}); into.saved != nil {
			t.Error("an update saved the plan without reading it back")
		}
	})
	t.Run("an object gone right after the apply is reported", func(t *testing.T) {
		into, diags := runFake(fakeLifecycle(nil, true, kube.ErrNotFound), nil)
		if into.saved != nil || !diags.HasError() || diags.Errors()[0].Summary() != "Object Gone After Apply" {
			t.Fatalf("saved %v, %v", into.saved, diags)
		}
	})
}

func TestObjectErrorsTimeoutAdvice(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		action, want, notWant string
	}{
		{actionCreating, "within 5m0s. Raise timeouts.create", ""},
		{actionPreparing, "Raise timeouts.update", ""},
		{"deleting", "Raise timeouts.delete", ""},
		{actionReading, "did not finish in time. Check the API server", "timeouts."},
		{actionReadingBack, "did not finish in time", "timeouts."},
	} {
		var diags diag.Diagnostics
		objectErrors{title: "Fake", subject: "fake a"}.add(&diags, "https://api", c.action, 5*time.Minute, context.DeadlineExceeded)
		detail := diags.Errors()[0].Detail()
		if !strings.Contains(detail, c.want) || c.notWant != "" && strings.Contains(detail, c.notWant) {
			t.Errorf("%s: %q", c.action, detail)
		}
	}
}
