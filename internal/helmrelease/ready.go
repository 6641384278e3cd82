package helmrelease

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/event"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/statusreaders"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/cli-utils/pkg/kstatus/watcher"
	"sigs.k8s.io/cli-utils/pkg/object"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// ObjectStatus is the kstatus of one object of a release.
type ObjectStatus struct {
	Kind, Namespace, Name string
	// Status is kstatus': Current, InProgress, Failed, NotFound, Terminating, Unknown.
	Status, Message string
}

// Ready is true when the object is Current (for a Job: complete).
func (o ObjectStatus) Ready() bool { return o.Status == string(status.CurrentStatus) }

func (o ObjectStatus) String() string {
	s := o.Kind + " "
	if o.Namespace != "" {
		s += o.Namespace + "/"
	}
	s += o.Name + " " + o.Status
	if o.Message != "" {
		s += ": " + o.Message
	}
	return s
}

// Status is the readiness of a release's objects (those of its manifest, not its hooks).
type Status struct {
	Release string
	Objects []ObjectStatus
}

// Ready is true when every object is ready.
func (s Status) Ready() bool { return len(s.NotReady()) == 0 }

// NotReady lists the objects that are not ready.
func (s Status) NotReady() []ObjectStatus {
	var out []ObjectStatus
	for _, o := range s.Objects {
		if !o.Ready() {
			out = append(out, o)
		}
	}
	return out
}

func (s Status) String() string {
	if nr := s.NotReady(); len(nr) > 0 {
		return fmt.Sprintf("%d of %d objects not ready: %s", len(nr), len(s.Objects), describeAll(nr))
	}
	return fmt.Sprintf("all %d objects ready", len(s.Objects))
}

var jobKind = schema.GroupKind{Group: "batch", Kind: "Job"}

// computeStatus is kstatus' rule, except that a Job is ready only once complete: kstatus
// calls a running Job Current.
func computeStatus(u *unstructured.Unstructured) (*status.Result, error) {
	res, err := status.Compute(u)
	if err != nil || u.GroupVersionKind().GroupKind() != jobKind {
		return res, err
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["status"] != "True" {
			continue
		}
		switch m["type"] {
		case "Complete":
			return res, nil
		case "Failed":
			msg := fmt.Sprintf("Job failed: %v", m["reason"])
			if s, _ := m["message"].(string); s != "" {
				msg += ": " + s
			}
			return &status.Result{Status: status.FailedStatus, Message: msg}, nil
		}
	}
	if res.Status == status.CurrentStatus {
		return &status.Result{Status: status.InProgressStatus, Message: "Job not complete: " + res.Message}, nil
	}
	return res, nil
}

// WaitReady watches the objects of the release's manifest with kstatus until all are
// Current (Jobs complete). It calls progress whenever the status changes. A failed Job ends
// the wait with a *FailedError; when ctx ends first, it returns a *kube.NotReadyError that
// lists the objects not ready and their messages.
func (d *Driver) WaitReady(ctx context.Context, rel *Release, progress func(Status)) (Status, error) {
	st := Status{Release: rel.Namespace + "/" + rel.Name}
	objs, err := d.objects(rel.Manifest)
	if err != nil {
		return st, err
	}
	ids := make(object.ObjMetadataSet, 0, len(objs))
	index := map[object.ObjMetadata]int{}
	for _, o := range objs {
		if _, dup := index[o.id]; dup {
			continue
		}
		index[o.id] = len(st.Objects)
		ids = append(ids, o.id)
		st.Objects = append(st.Objects, ObjectStatus{
			Kind: o.id.GroupKind.Kind, Namespace: o.id.Namespace, Name: o.id.Name,
			Status: string(status.UnknownStatus), Message: "not seen yet",
		})
	}
	if len(ids) == 0 {
		return st, nil
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := watcher.NewDefaultStatusWatcher(d.Clients.Dynamic, d.Clients.Mapper)
	w.StatusReader = statusreaders.NewGenericStatusReader(d.Clients.Mapper, computeStatus)
	events := w.Watch(wctx, ids, watcher.Options{})
	// The watcher stops once wctx is cancelled; drain it so that it never blocks.
	defer func() {
		cancel()
		go func() {
			for range events {
			}
		}()
	}()

	synced := false
	var last string
	for ev := range events {
		switch ev.Type {
		case event.ErrorEvent:
			return st, fmt.Errorf("watching the objects of helm release %s: %w", st.Release, ev.Error)
		case event.SyncEvent:
			synced = true
			for i := range st.Objects {
				if st.Objects[i].Message == "not seen yet" {
					st.Objects[i].Status, st.Objects[i].Message = string(status.NotFoundStatus), "does not exist"
				}
			}
		case event.ResourceUpdateEvent:
			rs := ev.Resource
			i, ok := index[rs.Identifier]
			if !ok {
				continue
			}
			st.Objects[i].Status, st.Objects[i].Message = string(rs.Status), rs.Message
			if rs.Status == status.NotFoundStatus {
				st.Objects[i].Message = "does not exist"
			}
			if rs.Error != nil {
				st.Objects[i].Message = rs.Error.Error()
			}
			if rs.Status == status.FailedStatus && rs.Identifier.GroupKind == jobKind {
				o := st.Objects[i]
				return st, &FailedError{Release: st.Release, Operation: "readiness", Object: fmt.Sprintf("Job %s/%s", o.Namespace, o.Name), Err: errors.New(o.Message)}
			}
		}
		if !synced {
			continue
		}
		if s := st.String(); s != last {
			last = s
			if progress != nil {
				progress(st)
			}
		}
		if st.Ready() {
			return st, nil
		}
	}
	err = ctx.Err()
	if err == nil {
		err = errors.New("the status watch ended")
	}
	return st, &kube.NotReadyError{Object: "helm release " + st.Release, Last: st.String(), Err: err}
}
