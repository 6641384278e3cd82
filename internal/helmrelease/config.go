package helmrelease

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/discovery"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"helm.sh/helm/v3/pkg/action"
	helmkube "helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// maxHistory bounds the release Secrets kept per release, and so what List decodes.
const maxHistory = 10

// restClientGetter hands Helm the clients of the tenant connection instead of a kubeconfig.
type restClientGetter struct {
	clients   *kube.Clients
	namespace string
}

func (g restClientGetter) ToRESTConfig() (*rest.Config, error) {
	return rest.CopyConfig(g.clients.REST), nil
}
func (g restClientGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.clients.Discovery, nil
}
func (g restClientGetter) ToRESTMapper() (meta.RESTMapper, error) { return g.clients.Mapper, nil }
func (g restClientGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(clientcmdapi.Config{}, &clientcmd.ConfigOverrides{
		Context: clientcmdapi.Context{Namespace: g.namespace},
	})
}

// ctxSecrets makes Helm's Secret storage driver, which calls with context.Background,
// honour the operation's context.
type ctxSecrets struct {
	corev1client.SecretInterface
	ctx context.Context
}

func (s ctxSecrets) Create(_ context.Context, o *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error) {
	return s.SecretInterface.Create(s.ctx, o, opts)
}

func (s ctxSecrets) Update(_ context.Context, o *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error) {
	return s.SecretInterface.Update(s.ctx, o, opts)
}

func (s ctxSecrets) Delete(_ context.Context, name string, opts metav1.DeleteOptions) error {
	return s.SecretInterface.Delete(s.ctx, name, opts)
}

func (s ctxSecrets) Get(_ context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error) {
	return s.SecretInterface.Get(s.ctx, name, opts)
}

func (s ctxSecrets) List(_ context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	return s.SecretInterface.List(s.ctx, opts)
}

func (s ctxSecrets) Watch(_ context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return s.SecretInterface.Watch(s.ctx, opts)
}

func (s ctxSecrets) Patch(_ context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*corev1.Secret, error) {
	return s.SecretInterface.Patch(s.ctx, name, pt, data, opts, sub...)
}

func (s ctxSecrets) Apply(_ context.Context, o *applycorev1.SecretApplyConfiguration, opts metav1.ApplyOptions) (*corev1.Secret, error) {
	return s.SecretInterface.Apply(s.ctx, o, opts)
}

// config is a fresh Helm configuration for one operation: Helm caches the cluster's
// capabilities in it, which a CRD installed by an earlier operation would make stale.
func (d *Driver) config(ctx context.Context) *action.Configuration {
	getter := restClientGetter{clients: d.Clients, namespace: d.Namespace}
	kc := helmkube.New(getter)
	kc.Namespace = d.Namespace
	kc.Log = d.logf
	secrets := driver.NewSecrets(ctxSecrets{SecretInterface: d.Clients.Kubernetes.CoreV1().Secrets(d.Namespace), ctx: ctx})
	secrets.Log = d.logf
	store := storage.Init(secrets)
	store.Log = d.logf
	store.MaxHistory = maxHistory
	return &action.Configuration{
		RESTClientGetter: getter,
		KubeClient:       kc,
		Releases:         store,
		Log:              d.logf,
		HookOutputFunc:   func(_, _, _ string) io.Writer { return io.Discard },
	}
}

func (d *Driver) logf(format string, v ...any) {
	if d.Log != nil {
		d.Log(format, v...)
	}
}
