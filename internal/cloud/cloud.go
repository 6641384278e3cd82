// Package cloud installs a tenant's OpenStack control plane into its tenant cluster: the
// OpenStack-Helm releases that package openstack describes, from the charts package
// chartsource finds, with package helmrelease, in dependency order and as parallel as the
// graph allows. It changes only the releases whose inputs changed or whose live objects
// drifted, and judges readiness from the releases' own objects. It knows nothing of
// Terraform.
package cloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/helmrelease"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
)

// RecordAnnotation on the release namespace holds the caller's record of what it installed
// (Spec.Record), so that an import can rebuild its settings.
const RecordAnnotation = "openstack.qumulus.io/record"

// KeySecret is the Secret in the release namespace that keeps the values checksum key, so
// that an import computes the same checksums.
const KeySecret = "qumulus-openstack"

// keySecretKey is its key.
const keySecretKey = "values-checksum-key"

// StatusDrifted is the status Observe reports for a release whose live state is not what
// the caller last recorded: another revision, other values, a failed record, or workloads
// missing or scaled out of band.
const StatusDrifted = "drifted"

// helmMargin is kept between Helm's own timeout and the operation's deadline: Helm goes on
// in the background when its context ends, so it must give up by itself first.
const helmMargin = 10 * time.Second

// Spec is the control plane to install.
type Spec struct {
	// Namespace is the tenant cluster's namespace of the releases, created when absent.
	Namespace string
	Charts    chartsource.Source
	// Version is the chart version or constraint of every service without its own.
	Version string
	// Features select the override files, in order: OpenStack release, base OS, features.
	Features []string
	// Overrides is where the override files are; nil selects none.
	Overrides openstack.OverrideSource
	Settings  openstack.Settings
	// Services are the enabled services, by name.
	Services map[string]ServiceSpec
	// Credentials are complete for the enabled services.
	Credentials openstack.Credentials
	// ChecksumKey keys the values checksums (see Checksum).
	ChecksumKey string
	// Parallel bounds how many releases are installed at a time.
	Parallel int
	// Record is written to the namespace's RecordAnnotation.
	Record string
}

// ServiceSpec is one enabled service.
type ServiceSpec struct {
	// Version overrides Spec.Version.
	Version string
	// Replicas of the API and server components; nil keeps the chart's.
	Replicas *int64
	// Values are YAML documents merged over the provider's values.
	Values [][]byte
	// Force upgrades the release even when its inputs and live objects are unchanged.
	Force bool
}

// Release is what a service's release is, as Observe or Apply see it.
type Release struct {
	Service, Name, Chart, ChartVersion, AppVersion string
	// Status is Helm's (deployed, failed, pending-install, ...), or StatusDrifted.
	Status         string
	Revision       int
	ValuesChecksum string
	// Drift says what differs from the caller's record, when Status is StatusDrifted.
	Drift []string
	// Values are the release's values, for Recover; never shown.
	Values map[string]any `json:"-"`
}

// Expected is what the caller recorded of a release, to tell drift.
type Expected struct {
	Revision       int
	ValuesChecksum string
}

// Client installs control planes into one tenant cluster.
type Client struct {
	Kube   *kube.Clients
	Charts *chartsource.Cache
	// Info logs progress ("keystone: installing"); nil drops it.
	Info func(ctx context.Context, msg string, fields map[string]any)
	// HelmLog receives Helm's debug lines; nil drops them.
	HelmLog func(format string, v ...any)
}

func (c *Client) driver(namespace string) *helmrelease.Driver {
	return &helmrelease.Driver{Clients: c.Kube, Namespace: namespace, Log: c.HelmLog}
}

func (c *Client) info(ctx context.Context, msg string, fields map[string]any) {
	if c.Info != nil {
		c.Info(ctx, msg, fields)
	}
}

// Checksum is the hex HMAC-SHA256, keyed by key, of the canonical JSON of values: it shows
// a change of values without making weak passwords in them guessable from the state.
func Checksum(key string, values map[string]any) string {
	if values == nil {
		values = map[string]any{}
	}
	b, err := json.Marshal(values)
	if err != nil {
		b = fmt.Appendf(nil, "%#v", values)
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// ErrNotInstalled wraps kube.ErrNotFound: the namespace is gone, or holds neither a
// release of a service nor a record.
var ErrNotInstalled = fmt.Errorf("openstack control plane %w", kube.ErrNotFound)

// Observation is what a namespace holds.
type Observation struct {
	// ChecksumKey is what Apply kept in KeySecret; read only when Observe is given none.
	ChecksumKey string
	// Releases are the releases of known services, by service.
	Releases map[string]*Release
	// Record is the namespace's RecordAnnotation.
	Record string
}

// Observe reads the releases of the known services in namespace (one list of Helm's
// release Secrets) and their live workloads (one list per kind), with no chart download
// and no rendering. expected, by service, is what the caller recorded: a release that
// differs from it, or whose workloads drifted, is StatusDrifted. A namespace without any
// is ErrNotInstalled.
func (c *Client) Observe(ctx context.Context, namespace string, expected map[string]Expected, checksumKey string) (*Observation, error) {
	ns, err := c.Kube.Kubernetes.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("namespace %s: %w", namespace, ErrNotInstalled)
	}
	if err != nil {
		return nil, &kube.ObjectError{Action: "reading", Object: "namespace " + namespace, Err: err}
	}
	obs := &Observation{Releases: map[string]*Release{}, Record: ns.Annotations[RecordAnnotation], ChecksumKey: checksumKey}
	if checksumKey == "" {
		sec, err := c.Kube.Kubernetes.CoreV1().Secrets(namespace).Get(ctx, KeySecret, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, &kube.ObjectError{Action: "reading", Object: "secret " + namespace + "/" + KeySecret, Err: err}
		}
		if err == nil {
			obs.ChecksumKey = string(sec.Data[keySecretKey])
		}
		checksumKey = obs.ChecksumKey
	}
	d := c.driver(namespace)
	all, err := d.List(ctx)
	if err != nil {
		return nil, err
	}
	var rels []*helmrelease.Release
	for _, r := range all {
		if _, ok := openstack.Lookup(r.Name); !ok {
			continue
		}
		rels = append(rels, r)
		obs.Releases[r.Name] = fromRelease(r, checksumKey)
	}
	if len(rels) == 0 && obs.Record == "" {
		return nil, fmt.Errorf("namespace %s: %w", namespace, ErrNotInstalled)
	}
	drift, err := d.Drift(ctx, rels)
	if err != nil {
		return nil, err
	}
	for _, dr := range drift {
		if r := obs.Releases[dr.Release]; r != nil {
			r.Drift = append(r.Drift, dr.Object+" "+dr.Problem)
		}
	}
	for name, r := range obs.Releases {
		if exp, ok := expected[name]; ok {
			if exp.Revision != 0 && exp.Revision != r.Revision {
				r.Drift = append(r.Drift, fmt.Sprintf("revision %d, the state has %d", r.Revision, exp.Revision))
			}
			if exp.ValuesChecksum != "" && exp.ValuesChecksum != r.ValuesChecksum {
				r.Drift = append(r.Drift, "values changed out of band")
			}
		}
		if r.Status != "deployed" {
			r.Drift = append(r.Drift, "helm status "+r.Status)
		}
		if len(r.Drift) > 0 {
			r.Status = StatusDrifted
		}
	}
	return obs, nil
}

func fromRelease(r *helmrelease.Release, checksumKey string) *Release {
	return &Release{
		Service: r.Name, Name: r.Name, Chart: r.Chart, ChartVersion: r.ChartVersion, AppVersion: r.AppVersion,
		Status: r.Status, Revision: r.Revision, ValuesChecksum: Checksum(checksumKey, r.Values), Values: r.Values,
	}
}

// ReleaseError is a service whose release could not be made ready; what was done about it
// is in the wrapped error (a *helmrelease.FailedError says which object failed and whether
// the release was rolled back or uninstalled).
type ReleaseError struct {
	Service string
	Err     error
}

func (e *ReleaseError) Error() string { return e.Service + ": " + e.Err.Error() }
func (e *ReleaseError) Unwrap() error { return e.Err }

// Apply makes the namespace hold what spec says: it uninstalls the services of prior that
// spec no longer enables (after what depends on them), then installs or upgrades, in
// dependency order, the enabled services whose release is missing, not deployed, drifted,
// or made from other values or another chart version, and waits until each is ready
// before what depends on it starts. A release that fails is rolled back (uninstalled on
// its first install); the others stay. The error joins an openstack.*StepError for each
// step that failed or did not run.
func (c *Client) Apply(ctx context.Context, spec Spec, prior []string) error {
	if err := c.ensureNamespace(ctx, spec.Namespace, spec.Record, spec.ChecksumKey); err != nil {
		return err
	}
	enabled := make([]string, 0, len(spec.Services))
	for name := range spec.Services {
		enabled = append(enabled, name)
	}
	var removed []string
	for _, name := range prior {
		if _, ok := spec.Services[name]; !ok {
			removed = append(removed, name)
		}
	}
	d := c.driver(spec.Namespace)
	if len(removed) > 0 {
		if err := c.uninstall(ctx, d, prior, removed, spec.Parallel); err != nil {
			return err
		}
	}
	steps, err := openstack.Plan(enabled)
	if err != nil {
		return err
	}
	live, err := d.List(ctx)
	if err != nil {
		return err
	}
	byName := map[string]*helmrelease.Release{}
	for _, r := range live {
		byName[r.Name] = r
	}
	drifted := map[string]bool{}
	drift, err := d.Drift(ctx, live)
	if err != nil {
		return err
	}
	for _, dr := range drift {
		drifted[dr.Release] = true
	}
	return openstack.Run(ctx, steps, spec.Parallel, false, func(ctx context.Context, st openstack.Step) error {
		return c.applyStep(ctx, d, spec, st.Services, byName, drifted)
	})
}

// applyStep installs or upgrades the services of one step that need it, all at once, and
// then waits for all of them.
func (c *Client) applyStep(ctx context.Context, d *helmrelease.Driver, spec Spec, services []string,
	live map[string]*helmrelease.Release, drifted map[string]bool) error {
	type applied struct {
		name    string
		rel     *helmrelease.Release
		started time.Time
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		done []applied
		errs []error
	)
	for _, name := range services {
		wg.Go(func() {
			started := time.Now()
			rel, err := c.applyService(ctx, d, spec, name, live[name], drifted[name])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, &ReleaseError{Service: name, Err: err})
			} else if rel != nil {
				done = append(done, applied{name, rel, started})
			}
		})
	}
	wg.Wait()
	for _, a := range done {
		wg.Go(func() {
			err := c.waitReady(ctx, d, a.name, a.rel, a.started)
			if err != nil {
				err = c.revert(d, a.name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, &ReleaseError{Service: a.name, Err: err})
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// applyService installs or upgrades one service's release when it needs it; nil when it
// does not.
func (c *Client) applyService(ctx context.Context, d *helmrelease.Driver, spec Spec, name string,
	live *helmrelease.Release, drifted bool) (*helmrelease.Release, error) {
	svc, ok := openstack.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%q is not a service", name)
	}
	ss := spec.Services[name]
	values, err := c.values(ctx, spec, svc, ss)
	if err != nil {
		return nil, err
	}
	constraint := ss.Version
	if constraint == "" {
		constraint = spec.Version
	}
	resolved, err := c.Charts.Resolve(ctx, spec.Charts, name, constraint)
	if err != nil {
		return nil, err
	}
	if live != nil && !ss.Force && !drifted && live.Status == "deployed" && live.ChartVersion == resolved.Version &&
		Checksum(spec.ChecksumKey, live.Values) == Checksum(spec.ChecksumKey, values) {
		return nil, nil
	}
	loaded, err := c.Charts.Load(ctx, spec.Charts, name, resolved.Version)
	if err != nil {
		return nil, err
	}
	action := "installing"
	if live != nil {
		action = "upgrading"
	}
	c.info(ctx, name+": "+action, map[string]any{"release": spec.Namespace + "/" + name, "chart_version": resolved.Version})
	return d.Apply(ctx, name, loaded.Chart, values, helmTimeout(ctx))
}

// values are the release values of svc: its override files, the provider's, the user's.
func (c *Client) values(ctx context.Context, spec Spec, svc openstack.Service, ss ServiceSpec) (map[string]any, error) {
	var overrides [][]byte
	if spec.Overrides != nil && len(spec.Features) > 0 {
		names, err := openstack.SelectOverrides(ctx, spec.Overrides, svc.Name, spec.Features)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			b, err := spec.Overrides.Read(ctx, svc.Name, n)
			if err != nil {
				return nil, err
			}
			overrides = append(overrides, b)
		}
	}
	return svc.ReleaseValues(spec.Settings, spec.Credentials, ss.Replicas, overrides, ss.Values)
}

// waitReady waits for a release's objects, logging what it waits for when that changes.
func (c *Client) waitReady(ctx context.Context, d *helmrelease.Driver, name string, rel *helmrelease.Release, started time.Time) error {
	fields := func(extra map[string]any) map[string]any {
		f := map[string]any{"release": rel.Namespace + "/" + name, "revision": rel.Revision,
			"elapsed": time.Since(started).Round(time.Second).String()}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	_, err := d.WaitReady(ctx, rel, func(s helmrelease.Status) {
		if nr := s.NotReady(); len(nr) > 0 {
			c.info(ctx, name+": waiting", fields(map[string]any{"not_ready": describe(nr)}))
		}
	})
	if err != nil {
		return err
	}
	c.info(ctx, fmt.Sprintf("%s: ready after %s", name, time.Since(started).Round(time.Second)), fields(nil))
	return nil
}

func describe(objs []helmrelease.ObjectStatus) string {
	parts := make([]string, 0, len(objs))
	for _, o := range objs {
		parts = append(parts, o.String())
	}
	if len(parts) > 3 {
		parts = append(parts[:3], fmt.Sprintf("and %d more", len(parts)-3))
	}
	return strings.Join(parts, "; ")
}

// revert undoes a release that did not become ready, on a context of its own (the
// operation's may be what ended), and returns err with what was done.
// When the API server does not answer, nothing is tried: the error says so, and the
// next apply goes on from what is installed.
func (c *Client) revert(d *helmrelease.Driver, name string, err error) error {
	var fe *helmrelease.FailedError
	if !errors.As(err, &fe) {
		fe = &helmrelease.FailedError{Release: d.Namespace + "/" + name, Operation: "readiness", Err: err}
	}
	if down := d.Unanswered(context.Background(), err); down != nil {
		fe.Err = fmt.Errorf("%w (the API server stopped answering: %w; nothing was undone)", fe.Err, down)
		return fe
	}
	ctx, cancel := context.WithTimeout(context.Background(), revertTimeout)
	defer cancel()
	fe.Reverted, fe.RevertErr = d.Revert(ctx, name, revertTimeout-helmMargin)
	return fe
}

// revertTimeout bounds the rollback of a release that did not become ready in time.
const revertTimeout = 2 * time.Minute

// helmTimeout is what is left of ctx for Helm, less helmMargin (at least a second); a
// context without deadline gives Helm 15 minutes, never none.
func helmTimeout(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 15 * time.Minute
	}
	left := time.Until(deadline)
	if left > 2*helmMargin {
		left -= helmMargin
	} else {
		left = left * 3 / 4
	}
	return max(left, time.Second)
}

// uninstall removes the services of removed in reverse dependency order of all (the
// services enabled before, a valid selection): each after the services that need it.
func (c *Client) uninstall(ctx context.Context, d *helmrelease.Driver, all, removed []string, parallel int) error {
	steps, err := openstack.Plan(all)
	if err != nil {
		return err
	}
	return openstack.Run(ctx, steps, parallel, true, func(ctx context.Context, st openstack.Step) error {
		var errs []error
		for _, name := range st.Services {
			if !slices.Contains(removed, name) {
				continue
			}
			c.info(ctx, name+": uninstalling", map[string]any{"release": d.Namespace + "/" + name})
			if err := d.Uninstall(ctx, name, helmTimeout(ctx)); err != nil {
				errs = append(errs, &ReleaseError{Service: name, Err: err})
				continue
			}
			c.info(ctx, name+": uninstalled", map[string]any{"release": d.Namespace + "/" + name})
		}
		return errors.Join(errs...)
	})
}

// Destroy uninstalls the services' releases in reverse dependency order, with what Helm
// leaves behind, and then deletes the namespace when the provider created it and nothing
// else is in it, waiting until it is gone.
func (c *Client) Destroy(ctx context.Context, namespace string, services []string, parallel int) error {
	d := c.driver(namespace)
	live, err := d.List(ctx)
	if err != nil {
		var oe *kube.ObjectError
		if errors.As(err, &oe) && apierrors.IsNotFound(oe.Err) {
			return nil
		}
		return err
	}
	// Uninstall what the state names and any other release of a known service this
	// namespace holds (one an import did not see, or a failed create left).
	all := slices.Clone(services)
	for _, r := range live {
		if _, ok := openstack.Lookup(r.Name); ok && !slices.Contains(all, r.Name) {
			all = append(all, r.Name)
		}
	}
	sort.Strings(all)
	if err := c.uninstallAll(ctx, d, all, parallel); err != nil {
		return err
	}
	return c.deleteNamespace(ctx, namespace)
}

// uninstallAll uninstalls services in reverse dependency order when they form a valid
// selection, else one at a time in reverse catalogue order.
func (c *Client) uninstallAll(ctx context.Context, d *helmrelease.Driver, services []string, parallel int) error {
	if openstack.CheckSelection(services) == nil {
		return c.uninstall(ctx, d, services, services, parallel)
	}
	names := openstack.Names()
	slices.Reverse(names)
	var errs []error
	for _, name := range names {
		if !slices.Contains(services, name) {
			continue
		}
		c.info(ctx, name+": uninstalling", map[string]any{"release": d.Namespace + "/" + name})
		if err := d.Uninstall(ctx, name, helmTimeout(ctx)); err != nil {
			errs = append(errs, &ReleaseError{Service: name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// ensureNamespace creates the release namespace when absent, labelled as the provider's,
// records spec.Record on it and keeps the checksum key in KeySecret.
func (c *Client) ensureNamespace(ctx context.Context, namespace, record, checksumKey string) error {
	r := c.Kube.Dynamic.Resource(corev1.SchemeGroupVersion.WithResource("namespaces"))
	existing, err := c.Kube.Kubernetes.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	created := apierrors.IsNotFound(err)
	if err != nil && !created {
		return &kube.ObjectError{Action: "reading", Object: "namespace " + namespace, Err: err}
	}
	if !created && existing.DeletionTimestamp != nil {
		return &kube.ObjectError{Action: "using", Object: "namespace " + namespace,
			Err: errors.New("it is being deleted; apply again once it is gone")}
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": namespace, "annotations": map[string]any{RecordAnnotation: record}},
	}}
	if created || existing.Labels[kube.LabelManagedBy] == kube.ManagedBy {
		ns.SetLabels(map[string]string{kube.LabelManagedBy: kube.ManagedBy})
	}
	if _, err = kube.Apply(ctx, r, ns); err != nil {
		return err
	}
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{"name": KeySecret, "namespace": namespace,
			"labels": map[string]any{kube.LabelManagedBy: kube.ManagedBy}},
		"stringData": map[string]any{keySecretKey: checksumKey},
	}}
	_, err = kube.Apply(ctx, c.Kube.Dynamic.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(namespace), secret)
	return err
}

// deleteNamespace deletes the namespace when the provider created it (its managed-by
// label) and it holds no workload and no Helm release of anyone else, and waits until it
// is gone; otherwise it removes the record.
func (c *Client) deleteNamespace(ctx context.Context, namespace string) error {
	core := c.Kube.Kubernetes.CoreV1()
	ns, err := core.Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return &kube.ObjectError{Action: "reading", Object: "namespace " + namespace, Err: err}
	}
	if err := core.Secrets(namespace).Delete(ctx, KeySecret, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return &kube.ObjectError{Action: "deleting", Object: "secret " + namespace + "/" + KeySecret, Err: err}
	}
	others, err := c.driver(namespace).List(ctx)
	if err != nil {
		return err
	}
	mine := ns.Labels[kube.LabelManagedBy] == kube.ManagedBy
	if mine && len(others) == 0 {
		pods, err := core.Pods(namespace).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return &kube.ObjectError{Action: "listing", Object: "the pods of namespace " + namespace, Err: err}
		}
		mine = len(pods.Items) == 0
	}
	if !mine || len(others) > 0 {
		r := c.Kube.Dynamic.Resource(corev1.SchemeGroupVersion.WithResource("namespaces"))
		patch := []byte(`{"metadata":{"annotations":{"` + RecordAnnotation + `":null}}}`)
		if _, err := r.Patch(ctx, namespace, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return &kube.ObjectError{Action: "removing the record from", Object: "namespace " + namespace, Err: err}
		}
		return nil
	}
	c.info(ctx, "deleting namespace "+namespace, nil)
	if err := core.Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return &kube.ObjectError{Action: "deleting", Object: "namespace " + namespace, Err: err}
	}
	r := c.Kube.Dynamic.Resource(corev1.SchemeGroupVersion.WithResource("namespaces"))
	return kube.WaitGone(ctx, r, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", namespace).String()})
}
