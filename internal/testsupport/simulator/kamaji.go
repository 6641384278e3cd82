package simulator

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
)

// tenantControlPlaneReconciler plays Kamaji's TenantControlPlane controller:
//   - a new object reports Provisioning, then after ReadyDelay Ready, with a tenant API
//     server behind it and the admin kubeconfig Secret written;
//   - a changed spec.kubernetes.version reports Upgrading first, then Ready at the new version;
//   - status.kubernetesResources.deployment reports the control plane pods: for ReadyDelay
//     after a change the new generation is observed but the pods lag (a scale from 2 to 3
//     has 2 ready, a rollout an extra pod and old ones not updated), then all are ready;
//   - the DataStore (spec.dataStore, else DefaultDataStore) must exist, or the control
//     plane never becomes ready;
//   - deletion is held by Kamaji's finalizer for DeleteDelay.
type tenantControlPlaneReconciler struct {
	*Simulator
	client.Client
}

func (s *Simulator) setupKamaji() error {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
	return ctrl.NewControllerManagedBy(s.mgr).
		Named("kamaji-tenantcontrolplane").
		For(obj).
		// Kamaji watches the Secrets it owns and writes a deleted one again.
		Owns(&corev1.Secret{}).
		Complete(&tenantControlPlaneReconciler{Simulator: s, Client: s.mgr.GetClient()})
}

func (r *tenantControlPlaneReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tcp := &unstructured.Unstructured{}
	tcp.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
	if err := r.Get(ctx, req.NamespacedName, tcp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	key := "tcp/" + req.String()

	if tcp.GetDeletionTimestamp() != nil {
		if !controllerutil.ContainsFinalizer(tcp, kamaji.Finalizer) {
			return ctrl.Result{}, nil
		}
		if wait := r.opts.DeleteDelay - time.Since(tcp.GetDeletionTimestamp().Time); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
		if err := r.pool.release(req.String()); err != nil {
			return ctrl.Result{}, err
		}
		for _, name := range []string{kamaji.AdminKubeconfigSecretName(req.Name), kamaji.CASecretName(req.Name)} {
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: name}}
			if err := r.Delete(ctx, secret); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, err
			}
		}
		r.clock.forget(key)
		r.clock.forget("tcp-progress/" + req.String())
		controllerutil.RemoveFinalizer(tcp, kamaji.Finalizer)
		return ctrl.Result{}, r.Update(ctx, tcp)
	}

	if controllerutil.AddFinalizer(tcp, kamaji.Finalizer) {
		if err := r.Update(ctx, tcp); err != nil {
			return ctrl.Result{}, err
		}
	}

	desired, _, _ := unstructured.NestedString(tcp.Object, "spec", "kubernetes", "version")
	phase, _, _ := unstructured.NestedString(tcp.Object, "status", "kubernetesResources", "version", "status")
	installed, _, _ := unstructured.NestedString(tcp.Object, "status", "kubernetesResources", "version", "version")
	// Kamaji v1.0.0's CRD has no status.observedGeneration: the API server prunes it, and
	// then there is no generation to catch up with.
	observed, reported, _ := unstructured.NestedInt64(tcp.Object, "status", "observedGeneration")
	generation := tcp.GetGeneration()

	replicas, found, _ := unstructured.NestedInt64(tcp.Object, "spec", "controlPlane", "deployment", "replicas")
	if !found {
		replicas = defaultReplicasTCP
	}
	pods := deploymentOf(tcp)

	heldHere := r.holds.held("tcp/" + req.String())
	held := tcp.GetAnnotations()[HoldAnnotation] == "true" || heldHere
	if phase == kamaji.StatusReady && installed == desired && (observed == generation || !reported && hasReadyStatus(tcp)) && pods.settled(replicas) {
		if held || r.heldNow(ctx, req.NamespacedName) {
			// Tests hold a Ready control plane to see what the provider does with a
			// kubeconfig Secret that is missing or damaged. The live read closes the race
			// between a test's hold and its deletion of the Secret right after.
			return ctrl.Result{}, nil
		}
		// Kamaji re-creates the kubeconfig Secret when it is deleted out of band, with
		// new credentials.
		return ctrl.Result{}, r.ensureKubeconfig(ctx, tcp)
	}

	transitional := kamaji.StatusProvisioning
	if installed != "" && installed != desired {
		transitional = kamaji.StatusUpgrading
	} else if phase == kamaji.StatusReady {
		// A spec change that is not a version change (e.g. replicas) keeps the control
		// plane serving.
		transitional = kamaji.StatusReady
	}
	if held {
		// A hold of the Simulator's methods ends without a change to the object.
		var again ctrl.Result
		if heldHere {
			again.RequeueAfter = r.opts.ReadyDelay
		}
		if phase == transitional {
			return again, nil
		}
		return again, r.setPhase(ctx, tcp, transitional, installed)
	}
	if wait := r.opts.ReadyDelay - r.clock.since(key, generation); wait > 0 {
		// Kamaji has seen the new generation; the Deployment is rolling.
		if r.clock.first("tcp-progress/"+req.String(), generation) {
			r.pool.prepare(req.String(), tcp.GetLabels()[SharedServerLabel])
			progress := pods.progress(replicas, installed != "" && installed != desired || pods.replicas == replicas)
			if err := r.setProgress(ctx, tcp, transitional, installed, progress); err != nil {
				r.clock.forget("tcp-progress/" + req.String())
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	dataStore, _, _ := unstructured.NestedString(tcp.Object, "spec", "dataStore")
	if dataStore == "" {
		dataStore = DefaultDataStore
	}
	if ok, err := r.dataStoreExists(ctx, dataStore); err != nil || !ok {
		if err == nil {
			r.opts.Log.Info("TenantControlPlane waits for its DataStore", "object", req.String(), "dataStore", dataStore)
		}
		return ctrl.Result{RequeueAfter: r.opts.ReadyDelay}, err
	}

	srv, err := r.pool.acquire(ctx, req.String(), tcp.GetLabels()[SharedServerLabel])
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("starting the tenant API server of %s: %w", req, err)
	}
	if err := r.ensureKubeconfig(ctx, tcp); err != nil {
		return ctrl.Result{}, err
	}
	caChecksum, err := r.ensureCA(ctx, tcp, srv)
	if err != nil {
		return ctrl.Result{}, err
	}
	endpoint := strings.TrimPrefix(strings.TrimSuffix(srv.URL(), "/"), "https://")
	patch := client.MergeFrom(tcp.DeepCopy())
	now := time.Now().UTC().Format(time.RFC3339)
	set := func(v any, path ...string) {
		_ = unstructured.SetNestedField(tcp.Object, v, append([]string{"status"}, path...)...)
	}
	set(generation, "observedGeneration")
	set(endpoint, "controlPlaneEndpoint")
	set(kamaji.AdminKubeconfigSecretName(tcp.GetName()), "kubeconfig", "admin", "secretName")
	set(now, "kubeconfig", "admin", "lastUpdate")
	caSecret := kamaji.CASecretName(tcp.GetName())
	// As Kamaji: lastUpdate moves only when the CA Secret named or its content changes.
	oldSecret, _, _ := unstructured.NestedString(tcp.Object, "status", "certificates", "ca", "secretName")
	oldChecksum, _, _ := unstructured.NestedString(tcp.Object, "status", "certificates", "ca", "checksum")
	if oldSecret != caSecret || oldChecksum != caChecksum {
		set(caSecret, "certificates", "ca", "secretName")
		set(caChecksum, "certificates", "ca", "checksum")
		set(now, "certificates", "ca", "lastUpdate")
	}
	set(kamaji.StatusReady, "kubernetesResources", "version", "status")
	set(desired, "kubernetesResources", "version", "version")
	set(dataStore, "storage", "dataStoreName")
	set(deploymentCounts{replicas, replicas, replicas, replicas}.object(tcp), "kubernetesResources", "deployment")
	if err := r.Status().Patch(ctx, tcp, patch); err != nil {
		return ctrl.Result{}, err
	}
	r.opts.Log.Info("TenantControlPlane ready", "object", req.String(), "version", desired, "endpoint", endpoint)
	return ctrl.Result{}, nil
}

// heldNow reads the hold annotation from the API server rather than the cache.
func (r *tenantControlPlaneReconciler) heldNow(ctx context.Context, key types.NamespacedName) bool {
	tcp := &unstructured.Unstructured{}
	tcp.SetGroupVersionKind(kamaji.TenantControlPlaneGVK)
	if err := r.mgr.GetAPIReader().Get(ctx, key, tcp); err != nil {
		return false
	}
	return tcp.GetAnnotations()[HoldAnnotation] == "true"
}

// hasReadyStatus reports whether the simulator already published the endpoint and the
// kubeconfig Secret of a Ready control plane.
func hasReadyStatus(tcp *unstructured.Unstructured) bool {
	endpoint, _, _ := unstructured.NestedString(tcp.Object, "status", "controlPlaneEndpoint")
	secret, _, _ := unstructured.NestedString(tcp.Object, "status", "kubeconfig", "admin", "secretName")
	return endpoint != "" && secret != ""
}

// defaultReplicasTCP is the replica count Kamaji's webhook defaults.
const defaultReplicasTCP = 2

// DefaultDataStore is the DataStore a TenantControlPlane without spec.dataStore uses: the
// one Kamaji's Helm chart installs and names in Kamaji's --datastore flag.
const DefaultDataStore = "default"

var dataStoreGVK = kamaji.GroupVersion.WithKind("DataStore")

func (s *Simulator) dataStore(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	ds := &unstructured.Unstructured{}
	ds.SetGroupVersionKind(dataStoreGVK)
	err := s.mgr.GetAPIReader().Get(ctx, client.ObjectKey{Name: name}, ds)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return ds, err
}

func (s *Simulator) dataStoreExists(ctx context.Context, name string) (bool, error) {
	ds, err := s.dataStore(ctx, name)
	return ds != nil, err
}

// deploymentCounts is status.kubernetesResources.deployment's replica counters.
type deploymentCounts struct {
	replicas, ready, available, updated int64
}

func deploymentOf(tcp *unstructured.Unstructured) deploymentCounts {
	var d deploymentCounts
	for into, key := range map[*int64]string{&d.replicas: "replicas", &d.ready: "readyReplicas", &d.available: "availableReplicas", &d.updated: "updatedReplicas"} {
		*into, _, _ = unstructured.NestedInt64(tcp.Object, "status", "kubernetesResources", "deployment", key)
	}
	return d
}

func (d deploymentCounts) settled(want int64) bool {
	return d == deploymentCounts{want, want, want, want}
}

// progress is the Deployment midway to want pods: new pods exist but are not ready yet;
// a rollout (a new pod template) surges one new pod while the old ones still serve.
func (d deploymentCounts) progress(want int64, rollout bool) deploymentCounts {
	if d.replicas == 0 {
		return deploymentCounts{replicas: want, updated: want}
	}
	serving := min(d.ready, want)
	if rollout && want > 0 {
		return deploymentCounts{replicas: want + 1, ready: serving, available: min(d.available, want), updated: 1}
	}
	return deploymentCounts{replicas: max(d.replicas, want), ready: serving, available: min(d.available, want), updated: max(d.replicas, want)}
}

func (d deploymentCounts) object(tcp *unstructured.Unstructured) map[string]any {
	return map[string]any{
		"name":              tcp.GetName(),
		"namespace":         tcp.GetNamespace(),
		"selector":          "kamaji.clastix.io/name=" + tcp.GetName(),
		"replicas":          d.replicas,
		"readyReplicas":     d.ready,
		"availableReplicas": d.available,
		"updatedReplicas":   d.updated,
		"lastUpdate":        time.Now().UTC().Format(time.RFC3339),
	}
}

// setProgress reports a control plane in phase, its current generation observed and its
// Deployment at pods.
func (r *tenantControlPlaneReconciler) setProgress(ctx context.Context, tcp *unstructured.Unstructured, phase, installed string, pods deploymentCounts) error {
	patch := client.MergeFrom(tcp.DeepCopy())
	_ = unstructured.SetNestedField(tcp.Object, phase, "status", "kubernetesResources", "version", "status")
	if installed != "" {
		_ = unstructured.SetNestedField(tcp.Object, installed, "status", "kubernetesResources", "version", "version")
	}
	_ = unstructured.SetNestedField(tcp.Object, tcp.GetGeneration(), "status", "observedGeneration")
	_ = unstructured.SetNestedField(tcp.Object, pods.object(tcp), "status", "kubernetesResources", "deployment")
	r.opts.Log.Info("TenantControlPlane "+strings.ToLower(phase), "object", client.ObjectKeyFromObject(tcp).String(), "pods", fmt.Sprintf("%+v", pods))
	return r.Status().Patch(ctx, tcp, patch)
}

func (r *tenantControlPlaneReconciler) setPhase(ctx context.Context, tcp *unstructured.Unstructured, phase, installed string) error {
	patch := client.MergeFrom(tcp.DeepCopy())
	_ = unstructured.SetNestedField(tcp.Object, phase, "status", "kubernetesResources", "version", "status")
	if installed != "" {
		_ = unstructured.SetNestedField(tcp.Object, installed, "status", "kubernetesResources", "version", "version")
	}
	r.opts.Log.Info("TenantControlPlane "+strings.ToLower(phase), "object", client.ObjectKeyFromObject(tcp).String())
	return r.Status().Patch(ctx, tcp, patch)
}

// ensureKubeconfig writes Secret <name>-admin-kubeconfig with admin.conf and
// super-admin.conf for the tenant's API server, as Kamaji does.
func (r *tenantControlPlaneReconciler) ensureKubeconfig(ctx context.Context, tcp *unstructured.Unstructured) error {
	tenant := client.ObjectKeyFromObject(tcp).String()
	name := kamaji.AdminKubeconfigSecretName(tcp.GetName())
	existing := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: tcp.GetNamespace(), Name: name}, existing)
	if err == nil && len(existing.Data[kamaji.AdminKubeconfigKey]) > 0 {
		return nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	srv, err := r.pool.acquire(ctx, tenant, tcp.GetLabels()[SharedServerLabel])
	if err != nil {
		return err
	}
	data := map[string][]byte{}
	for key, user := range map[string]string{
		kamaji.AdminKubeconfigKey:      "kubernetes-admin",
		kamaji.SuperAdminKubeconfigKey: "kubernetes-super-admin",
	} {
		kc, err := kubeconfigFor(srv, tcp.GetName(), user)
		if err != nil {
			return fmt.Errorf("kubeconfig for %s: %w", tenant, err)
		}
		data[key] = kc
	}
	return r.applySecret(ctx, tcp, name, "admin-kubeconfig", data)
}

// applySecret writes a Secret of tcp the way Kamaji labels, annotates and owns its Secrets.
// A namespace being deleted takes no new Secrets: the TenantControlPlane goes with it.
func (r *tenantControlPlaneReconciler) applySecret(ctx context.Context, tcp *unstructured.Unstructured, name, component string, data map[string][]byte) error {
	secret := corev1ac.Secret(name, tcp.GetNamespace()).
		WithLabels(map[string]string{
			"kamaji.clastix.io/name":      tcp.GetName(),
			"kamaji.clastix.io/component": component,
			"kamaji.clastix.io/project":   "kamaji",
		}).
		WithAnnotations(map[string]string{ChecksumAnnotation: Checksum(data)}).
		WithOwnerReferences(metav1ac.OwnerReference().
			WithAPIVersion(kamaji.GroupVersion.String()).
			WithKind(kamaji.TenantControlPlaneGVK.Kind).
			WithName(tcp.GetName()).
			WithUID(tcp.GetUID()).
			WithController(true)).
		WithType(corev1.SecretTypeOpaque).
		WithData(data)
	err := r.Apply(ctx, secret, client.FieldOwner(FieldManager), client.ForceOwnership)
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil
	}
	return err
}

// ensureCA writes Secret <name>-ca with the tenant API server's CA certificate (ca.crt), as
// Kamaji does, and returns its checksum. Kamaji also stores ca.key there; the simulator's
// tenant servers keep their CA key to themselves, so the Secret holds a marker in its place
// that tests look for in places it must never reach.
func (r *tenantControlPlaneReconciler) ensureCA(ctx context.Context, tcp *unstructured.Unstructured, srv TenantServer) (string, error) {
	data := map[string][]byte{"ca.crt": srv.CA(), "ca.key": []byte(CAKeyMarker)}
	return Checksum(data), r.applySecret(ctx, tcp, kamaji.CASecretName(tcp.GetName()), "ca", data)
}

// ChecksumAnnotation carries, as on Kamaji's Secrets, the Checksum of the Secret's data.
const ChecksumAnnotation = "kamaji.clastix.io/checksum"

// Checksum is Kamaji's checksum of a Secret's data (utilities.CalculateMapChecksum): the
// hex MD5 of its values concatenated in the order of their keys. Kamaji reports it in
// status.certificates.ca.checksum beside secretName, so a reader can tell that the CA
// changed without reading the Secret.
func Checksum(data map[string][]byte) string {
	h := md5.New() //nolint:gosec // Kamaji's choice, for change detection only.
	for _, key := range slices.Sorted(maps.Keys(data)) {
		h.Write(data[key])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CAKeyMarker stands in for the CA key in the simulated CA Secret.
const CAKeyMarker = "SIMULATED-CA-PRIVATE-KEY-MUST-NEVER-LEAVE-THE-SECRET"

func kubeconfigFor(srv TenantServer, cluster, user string) ([]byte, error) {
	cert, key, err := srv.AddAdmin(user)
	if err != nil {
		return nil, err
	}
	context := user + "@" + cluster
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{cluster: {
			Server:                   strings.TrimSuffix(srv.URL(), "/"),
			CertificateAuthorityData: srv.CA(),
		}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{user: {
			ClientCertificateData: cert,
			ClientKeyData:         key,
		}},
		Contexts:       map[string]*clientcmdapi.Context{context: {Cluster: cluster, AuthInfo: user}},
		CurrentContext: context,
	}
	return clientcmd.Write(cfg)
}
