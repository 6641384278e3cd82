// Package helmrelease drives one Helm release in a tenant cluster with the Helm SDK: it
// installs, upgrades, reverts and uninstalls it without Helm's wait, judges readiness of
// its objects with kstatus, and recovers releases that a crashed run left pending. Release
// records live in Helm's Secret storage in the release namespace, so `helm list` shows them.
package helmrelease

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Driver works on the Helm releases of one namespace of a tenant cluster. Operations on
// one release must not run concurrently (Terraform's state lock sees to that); different
// releases may.
type Driver struct {
	Clients   *kube.Clients
	Namespace string
	// Log receives Helm's debug lines; nil drops them. Helm never logs values.
	Log func(format string, v ...any)
}

// Release is the last revision of a release as Helm recorded it.
type Release struct {
	Name, Namespace, Chart, ChartVersion, AppVersion string
	// Status is Helm's: deployed, failed, pending-install, superseded, ...
	Status   string
	Revision int
	// Values are the user-supplied values of the revision (not merged with the chart's).
	Values         map[string]any
	ValuesChecksum string
	Manifest       string

	hooks []*release.Hook
}

// ErrNotFound means the release has no revision in the namespace.
var ErrNotFound = fmt.Errorf("helm release %w", kube.ErrNotFound)

// ValuesChecksum is the hex sha256 of the canonical JSON of values (map keys sorted, nil
// the same as empty), so that a change of values can be seen without keeping them.
func ValuesChecksum(values map[string]any) string {
	if values == nil {
		values = map[string]any{}
	}
	b, err := json.Marshal(values)
	if err != nil {
		b = fmt.Appendf(nil, "%#v", values)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func fromHelm(r *release.Release) *Release {
	out := &Release{
		Name:           r.Name,
		Namespace:      r.Namespace,
		Revision:       r.Version,
		Values:         r.Config,
		ValuesChecksum: ValuesChecksum(r.Config),
		Manifest:       r.Manifest,
		hooks:          r.Hooks,
	}
	if r.Info != nil {
		out.Status = r.Info.Status.String()
	}
	if r.Chart != nil && r.Chart.Metadata != nil {
		out.Chart, out.ChartVersion, out.AppVersion = r.Chart.Metadata.Name, r.Chart.Metadata.Version, r.Chart.Metadata.AppVersion
	}
	return out
}

func (d *Driver) id(name string) string { return d.Namespace + "/" + name }

func (d *Driver) history(ctx context.Context, name string) ([]*release.Release, error) {
	h, err := d.config(ctx).Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, &kube.ObjectError{Action: "reading", Object: "the revisions of helm release " + d.id(name), Err: err}
	}
	sort.Slice(h, func(i, j int) bool { return h[i].Version < h[j].Version })
	return h, nil
}

func latest(h []*release.Release) *release.Release {
	if len(h) == 0 {
		return nil
	}
	return h[len(h)-1]
}

// lastGood is the newest deployed or superseded revision older than before.
func lastGood(h []*release.Release, before int) *release.Release {
	for i := len(h) - 1; i >= 0; i-- {
		r := h[i]
		if r.Version < before && r.Info != nil && (r.Info.Status == release.StatusDeployed || r.Info.Status == release.StatusSuperseded) {
			return r
		}
	}
	return nil
}

// Get reads the last revision of the release.
func (d *Driver) Get(ctx context.Context, name string) (*Release, error) {
	h, err := d.history(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("%s: %w", d.id(name), ErrNotFound)
	}
	return fromHelm(latest(h)), nil
}

// List reads the last revision of every release in the namespace with one list of release
// Secrets, sorted by name.
func (d *Driver) List(ctx context.Context) ([]*Release, error) {
	all, err := d.config(ctx).Releases.ListReleases()
	if err != nil {
		return nil, &kube.ObjectError{Action: "listing", Object: "the helm releases in namespace " + d.Namespace, Err: err}
	}
	last := map[string]*release.Release{}
	for _, r := range all {
		if cur, ok := last[r.Name]; !ok || r.Version > cur.Version {
			last[r.Name] = r
		}
	}
	out := make([]*Release, 0, len(last))
	for _, r := range last {
		out = append(out, fromHelm(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// FailedError is an install or upgrade that failed, or an object that failed while the
// release was judged ready.
type FailedError struct {
	// Release is namespace/name; Operation is install, upgrade or readiness.
	Release, Operation string
	// Object names the failing object ("hook Job openstack/keystone-db-sync") when known,
	// Condition its last status as it was before reverting.
	Object, Condition string
	// Reverted says what was done about it ("uninstalled", "rolled back to revision 3"),
	// "" when nothing was.
	Reverted string
	// RevertErr is why reverting failed.
	RevertErr error
	Err       error
}

func (e *FailedError) Error() string {
	msg := fmt.Sprintf("helm release %s: %s failed", e.Release, e.Operation)
	if e.Object != "" {
		msg += " at " + e.Object
	}
	if e.Condition != "" {
		msg += " (" + e.Condition + ")"
	}
	msg += ": " + flatten(e.Err)
	if e.Reverted != "" {
		msg += "; the release was " + e.Reverted
	}
	if e.RevertErr != nil {
		msg += fmt.Sprintf("; reverting it failed too: %v", e.RevertErr)
	}
	return msg
}

func (e *FailedError) Unwrap() error { return e.Err }

var multiErrorHeader = regexp.MustCompile(`\d+ errors? occurred:\n\t\* `)

// flatten puts the multi-line lists of errors that Helm makes on one line.
func flatten(err error) string {
	s := multiErrorHeader.ReplaceAllString(err.Error(), "")
	s = strings.ReplaceAll(s, "\n\t* ", "; ")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n\n", "")), " ")
}

// Apply installs the release, or upgrades it when it has a good revision, without Helm's
// wait: Helm still runs the hooks and waits for hook Jobs, each bounded by timeout. Every
// call makes a new revision, even with unchanged inputs, which repairs objects changed or
// deleted out of band; callers skip Apply when nothing changed.
//
// A first install that fails is uninstalled; a failed upgrade is rolled back to the last
// good revision (*FailedError). A release left pending by a crashed run is marked failed
// and then recovered: upgraded when it has a good revision, else uninstalled and installed
// again. When ctx ends first, Helm's operation goes on in the background and its record
// stays pending until the next Apply recovers it.
func (d *Driver) Apply(ctx context.Context, name string, ch *chart.Chart, values map[string]any, timeout time.Duration) (*Release, error) {
	h, err := d.history(ctx, name)
	if err != nil {
		return nil, err
	}
	last := latest(h)
	install := last == nil
	if last != nil {
		if last.Info.Status.IsPending() {
			d.logf("%s: recovering a release left %s", d.id(name), last.Info.Status)
			last.SetStatus(release.StatusFailed, fmt.Sprintf("qumulus: recovered from stale %s", last.Info.Status))
			if err := d.config(ctx).Releases.Update(last); err != nil {
				return nil, &kube.ObjectError{Action: "marking as failed", Object: fmt.Sprintf("revision %d of helm release %s", last.Version, d.id(name)), Err: err}
			}
		}
		st := last.Info.Status
		if lastGood(h, last.Version+1) == nil || st == release.StatusUninstalling || st == release.StatusUninstalled {
			// Nothing to upgrade from: start over, as a first install.
			if err := d.Uninstall(ctx, name, timeout); err != nil {
				return nil, err
			}
			install = true
		}
	}

	op := "upgrade"
	var rel *release.Release
	if install {
		op = "install"
		in := action.NewInstall(d.config(ctx))
		in.ReleaseName, in.Namespace = name, d.Namespace
		in.Timeout = timeout
		in.Labels = map[string]string{kube.LabelManagedBy: kube.ManagedBy}
		rel, err = in.RunWithContext(ctx, ch, values)
	} else {
		up := action.NewUpgrade(d.config(ctx))
		up.Namespace = d.Namespace
		up.Timeout = timeout
		up.MaxHistory = maxHistory
		up.ResetValues = true
		up.Labels = map[string]string{kube.LabelManagedBy: kube.ManagedBy}
		rel, err = up.RunWithContext(ctx, name, ch, values)
	}
	if err == nil {
		return fromHelm(rel), nil
	}

	fe := &FailedError{Release: d.id(name), Operation: op, Err: err}
	if down := d.Unanswered(ctx, err); down != nil {
		// Nothing can be read or undone while the API server does not answer, and Helm's
		// record stays as it was last written.
		fe.Object, _ = d.failingObject(ctx, rel, err, false)
		fe.Err = fmt.Errorf("%w (the API server stopped answering: %w; the release stays pending until the next apply recovers it)", err, down)
		return nil, fe
	}
	fe.Object, fe.Condition = d.failingObject(ctx, rel, err, true)
	if ctx.Err() != nil {
		fe.Err = fmt.Errorf("%w (the release stays pending until the next apply recovers it)", err)
		return nil, fe
	}
	before := 0
	if !install {
		before = last.Version
	}
	after, herr := d.history(ctx, name)
	if herr != nil {
		fe.RevertErr = herr
		return nil, fe
	}
	if l := latest(after); l != nil && l.Version > before {
		fe.Reverted, fe.RevertErr = d.Revert(ctx, name, timeout)
	}
	return nil, fe
}

// probeTimeout bounds the question whether the API server answers, after a failure.
const probeTimeout = 10 * time.Second

// Unanswered is the request the API server did not answer, when that is why Helm's
// operation failed: found in err, or, since Helm's errors keep only the text of what they
// wrap, asked again (GET /version, bounded by probeTimeout even when ctx has ended). nil
// when the API server answers.
func (d *Driver) Unanswered(ctx context.Context, err error) *kube.NoAnswerError {
	var na *kube.NoAnswerError
	if errors.As(err, &na) {
		return na
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
	defer cancel()
	if perr := d.Clients.Kubernetes.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error(); errors.As(perr, &na) {
		return na
	}
	return nil
}

// failingObject names the hook that failed, with its status when live is set, or the
// object the API server refused.
func (d *Driver) failingObject(ctx context.Context, rel *release.Release, err error, live bool) (string, string) {
	if rel != nil {
		// The hook that failed, else the one Helm was still waiting for when it gave up.
		hooks := slices.Clone(rel.Hooks)
		sort.SliceStable(hooks, func(i, j int) bool {
			return hooks[i].LastRun.Phase == release.HookPhaseFailed && hooks[j].LastRun.Phase != release.HookPhaseFailed
		})
		for _, h := range hooks {
			if h.LastRun.Phase != release.HookPhaseFailed && h.LastRun.Phase != release.HookPhaseRunning {
				continue
			}
			objs, perr := d.objects(h.Manifest)
			if perr != nil || len(objs) == 0 {
				return fmt.Sprintf("hook %s %s/%s", h.Kind, d.Namespace, h.Name), ""
			}
			if !live {
				return "hook " + objs[0].String(), ""
			}
			return "hook " + objs[0].String(), d.condition(ctx, objs[0])
		}
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if details := status.Status().Details; details != nil && details.Name != "" {
			return fmt.Sprintf("%s %s/%s", details.Kind, d.Namespace, details.Name), ""
		}
	}
	return "", ""
}

// condition describes the live status of o: a Pod's phase and reason (kstatus calls any
// finished Pod Current), else kstatus' status and message.
func (d *Driver) condition(ctx context.Context, o releaseObject) string {
	if o.mapping == nil {
		return ""
	}
	u, err := o.resource(d.Clients.Dynamic).Get(ctx, o.id.Name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	var parts []string
	if o.id.GroupKind.Kind == "Pod" {
		parts = []string{"phase " + kube.NestedString(u, "status", "phase"), kube.NestedString(u, "status", "reason"), kube.NestedString(u, "status", "message")}
	} else if res, err := computeStatus(u); err == nil {
		parts = []string{string(res.Status), res.Message}
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), ": ")
}

// Revert undoes the last revision of a release, for one that failed or did not become
// ready: a release with a good earlier revision is rolled back to it, any other is
// uninstalled. It returns what it did ("rolled back to revision 2", "uninstalled").
func (d *Driver) Revert(ctx context.Context, name string, timeout time.Duration) (string, error) {
	h, err := d.history(ctx, name)
	if err != nil {
		return "", err
	}
	last := latest(h)
	if last == nil {
		return "", nil
	}
	good := lastGood(h, last.Version)
	if good == nil {
		if err := d.Uninstall(ctx, name, timeout); err != nil {
			return "", err
		}
		return "uninstalled", nil
	}
	rb := action.NewRollback(d.config(ctx))
	rb.Version = good.Version
	rb.Timeout = timeout
	rb.MaxHistory = maxHistory
	if err := rb.Run(name); err != nil {
		return "", fmt.Errorf("rolling helm release %s back to revision %d: %w", d.id(name), good.Version, err)
	}
	return fmt.Sprintf("rolled back to revision %d", good.Version), nil
}
