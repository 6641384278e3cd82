package tenantcluster

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
)

// The Kamaji phases (status.kubernetesResources.version.status) in which the admin
// kubeconfig is complete and current. Upgrading and Migrating roll the control plane or
// move its data while it keeps serving; WriteLimited serves reads; Sleeping (scaled to
// zero on purpose) answers again once scaled up with the same credentials, and refusing
// them would fail every plan of a configuration that reads them. Provisioning (they may
// not exist yet), CertificateAuthorityRotating (they are about to change), NotReady and
// Unknown are not usable.
var usablePhases = []string{kamaji.StatusReady, kamaji.StatusUpgrading, "Migrating", "WriteLimited", kamaji.StatusSleeping}

// Usable reports whether the admin kubeconfig of a control plane in phase may be used.
func Usable(phase string) bool { return slices.Contains(usablePhases, phase) }

// NotFoundError: the management cluster has no TenantControlPlane for the cluster.
type NotFoundError struct{ Cluster Key }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("TenantControlPlane %s not found", e.Cluster)
}

// NotReadyError: the control plane exists but its credentials are not usable (yet).
type NotReadyError struct {
	Cluster Key
	// Phase is Kamaji's status ("" before Kamaji reported one); Deleting is true once the
	// TenantControlPlane is being deleted.
	Phase    string
	Deleting bool
}

func (e *NotReadyError) Error() string {
	switch {
	case e.Deleting:
		return fmt.Sprintf("TenantControlPlane %s is being deleted", e.Cluster)
	case e.Phase == "":
		return fmt.Sprintf("TenantControlPlane %s has no status yet", e.Cluster)
	}
	return fmt.Sprintf("TenantControlPlane %s is %s, not Ready", e.Cluster, e.Phase)
}

// SecretMissingError: the admin kubeconfig Secret does not exist.
type SecretMissingError struct {
	Cluster Key
	Secret  string
	// FromStatus is true when the TenantControlPlane's status named the Secret, false
	// when the provider fell back to Kamaji's naming convention.
	FromStatus bool
}

func (e *SecretMissingError) Error() string {
	return fmt.Sprintf("Secret %s/%s (the admin kubeconfig of TenantControlPlane %s) not found", e.Cluster.Namespace, e.Secret, e.Cluster)
}

// KeyMissingError: the Secret exists without the wanted key.
type KeyMissingError struct {
	Cluster     Key
	Secret, Key string
	// Present are the keys the Secret has.
	Present []string
}

func (e *KeyMissingError) Error() string {
	return fmt.Sprintf("Secret %s/%s has no key %q (it has %v)", e.Cluster.Namespace, e.Secret, e.Key, e.Present)
}

// InvalidError: the Secret's kubeconfig cannot be used.
type InvalidError struct {
	Cluster     Key
	Secret, Key string
	Err         error
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("the kubeconfig in Secret %s/%s, key %q, cannot be used: %v", e.Cluster.Namespace, e.Secret, e.Key, e.Err)
}
func (e *InvalidError) Unwrap() error { return e.Err }

// APIError: the management cluster did not answer a read, or refused it.
type APIError struct {
	Action string
	Err    error
}

func (e *APIError) Error() string { return e.Action + ": " + e.Err.Error() }
func (e *APIError) Unwrap() error { return e.Err }

// Reader reads the admin kubeconfigs Kamaji writes on the management cluster.
type Reader struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// Read returns the kubeconfig under secretKey (kamaji.AdminKubeconfigKey or
// kamaji.SuperAdminKubeconfigKey) of the cluster's admin kubeconfig Secret: the Secret
// the TenantControlPlane's status names, else <name>-admin-kubeconfig. The control plane
// must be in a usable phase (see Usable).
func (r Reader) Read(ctx context.Context, key Key, secretKey string) (*Kubeconfig, error) {
	tcp, err := r.Dynamic.Resource(kamaji.TenantControlPlaneGVR).Namespace(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &NotFoundError{Cluster: key}
	}
	if err != nil {
		return nil, &APIError{Action: "reading TenantControlPlane " + key.String(), Err: err}
	}
	status := cluster.StatusOf(tcp)
	if status.Deleting || !Usable(status.Phase) {
		return nil, &NotReadyError{Cluster: key, Phase: status.Phase, Deleting: status.Deleting}
	}
	name, fromStatus := status.KubeconfigSecret, true
	if name == "" {
		name, fromStatus = kamaji.AdminKubeconfigSecretName(key.Name), false
	}
	secret, err := r.Kube.CoreV1().Secrets(key.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &SecretMissingError{Cluster: key, Secret: name, FromStatus: fromStatus}
	}
	if err != nil {
		return nil, &APIError{Action: fmt.Sprintf("reading Secret %s/%s", key.Namespace, name), Err: err}
	}
	raw := secret.Data[secretKey]
	if len(raw) == 0 {
		present := make([]string, 0, len(secret.Data))
		for k := range secret.Data {
			present = append(present, k)
		}
		slices.Sort(present)
		return nil, &KeyMissingError{Cluster: key, Secret: name, Key: secretKey, Present: present}
	}
	kc, err := Parse(raw)
	if err != nil {
		return nil, &InvalidError{Cluster: key, Secret: name, Key: secretKey, Err: err}
	}
	kc.Cluster, kc.SecretName, kc.SecretKey = key, name, secretKey
	return kc, nil
}
