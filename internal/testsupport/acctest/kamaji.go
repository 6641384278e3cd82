package acctest

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
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
