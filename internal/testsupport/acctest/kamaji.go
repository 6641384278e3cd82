package acctest

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
)

// RotateKubeconfig deletes a cluster's admin kubeconfig Secret, as an operator forcing
// Kamaji to issue new credentials does, and waits until Kamaji (or the simulator) has
// written it again.
func RotateKubeconfig(ctx context.Context, cs kubernetes.Interface, namespace, cluster string) error {
	secrets := cs.CoreV1().Secrets(namespace)
	old, err := secrets.Get(ctx, kamaji.AdminKubeconfigSecretName(cluster), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if err := secrets.Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
		return err
	}
	lw := cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "secrets", namespace, fields.OneTermEqualSelector("metadata.name", old.Name))
	_, err = watchtools.UntilWithSync(ctx, lw, &corev1.Secret{}, nil, func(e watch.Event) (bool, error) {
		s, ok := e.Object.(*corev1.Secret)
		return ok && e.Type != watch.Deleted && s.UID != old.UID && len(s.Data[kamaji.AdminKubeconfigKey]) > 0, nil
	})
	return err
}

// ErrNotRevocable means the old credential of RotateKubeconfigRevoking is not one a local
// tenant API server issued: a real Kamaji's admin certificates are valid until they
// expire.
var ErrNotRevocable = errors.New("the admin credential was not issued by a local tenant API server and cannot be revoked")

// RotateKubeconfigRevoking is RotateKubeconfig that also revokes the old credential, as a
// rotation after a leak does, and waits until the tenant API server refuses it: a client
// still using the old credential then fails. Only credentials of the local management
// cluster's tenant API servers can be revoked (see mgmtcluster.AdminGroupPrefix); for
// others it returns ErrNotRevocable before changing anything.
func RotateKubeconfigRevoking(ctx context.Context, cs kubernetes.Interface, namespace, cluster string) error {
	old, err := cs.CoreV1().Secrets(namespace).Get(ctx, kamaji.AdminKubeconfigSecretName(cluster), metav1.GetOptions{})
	if err != nil {
		return err
	}
	oldCfg, err := clientcmd.RESTConfigFromKubeConfig(old.Data[kamaji.AdminKubeconfigKey])
	if err != nil {
		return err
	}
	group, err := adminGroup(oldCfg.CertData)
	if err != nil {
		return err
	}
	if err := RotateKubeconfig(ctx, cs, namespace, cluster); err != nil {
		return err
	}
	rotated, err := cs.CoreV1().Secrets(namespace).Get(ctx, kamaji.AdminKubeconfigSecretName(cluster), metav1.GetOptions{})
	if err != nil {
		return err
	}
	newCfg, err := clientcmd.RESTConfigFromKubeConfig(rotated.Data[kamaji.AdminKubeconfigKey])
	if err != nil {
		return err
	}
	// The new admin revokes the old one.
	admin, err := kubernetes.NewForConfig(newCfg)
	if err != nil {
		return err
	}
	if err := admin.RbacV1().ClusterRoleBindings().Delete(ctx, mgmtcluster.AdminBinding(group), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("revoking %s: %w", group, err)
	}
	oldClient, err := kubernetes.NewForConfig(oldCfg)
	if err != nil {
		return err
	}
	return wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := oldClient.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err), nil
	})
}

// adminGroup is the revocable group of an admin client certificate.
func adminGroup(certPEM []byte) (string, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return "", ErrNotRevocable
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	for _, o := range cert.Subject.Organization {
		if strings.HasPrefix(o, mgmtcluster.AdminGroupPrefix) {
			return o, nil
		}
	}
	return "", ErrNotRevocable
}
