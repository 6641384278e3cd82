package tenant

import (
	"context"
	"errors"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// TestCreateAnswerLost checks that Create resolves a create whose answer was lost: the
// namespace it made counts as created, one not made is created again, another's is
// refused, and a clear refusal is not repeated.
func TestCreateAnswerLost(t *testing.T) {
	t.Parallel()
	lost := &kube.NoAnswerError{Host: "https://127.0.0.1:6443", Method: "POST", Path: "/api/v1/namespaces", Attempts: 1, Err: syscall.ECONNRESET}
	namespaces := corev1.SchemeGroupVersion.WithResource("namespaces")
	for _, tc := range []struct {
		name string
		// first answers the first create; the ones after it go through.
		first func(cs *fake.Clientset, ns *corev1.Namespace) error
		// get, when set, answers every read of the namespace.
		get         error
		wantCreates int32
		wantCreated bool
		wantErr     func(error) bool
	}{
		{
			name: "made, answer lost",
			first: func(cs *fake.Clientset, ns *corev1.Namespace) error {
				if err := cs.Tracker().Create(namespaces, ns, ""); err != nil {
					return err
				}
				return lost
			},
			wantCreates: 1, wantCreated: true,
		},
		{
			name: "not made, 503",
			first: func(*fake.Clientset, *corev1.Namespace) error {
				return apierrors.NewServiceUnavailable("etcd leader changed")
			},
			wantCreates: 2, wantCreated: true,
		},
		{
			name: "made, connection reset",
			first: func(cs *fake.Clientset, ns *corev1.Namespace) error {
				if err := cs.Tracker().Create(namespaces, ns, ""); err != nil {
					return err
				}
				return &url.Error{Op: "Post", URL: "https://127.0.0.1:6443/api/v1/namespaces", Err: syscall.ECONNRESET}
			},
			wantCreates: 1, wantCreated: true,
		},
		{
			name: "interrupted",
			first: func(cs *fake.Clientset, ns *corev1.Namespace) error {
				return &url.Error{Op: "Post", URL: "https://127.0.0.1:6443/api/v1/namespaces", Err: context.Canceled}
			},
			wantCreates: 1,
			wantErr:     func(err error) bool { return errors.Is(err, context.Canceled) },
		},
		{
			name:        "not made, no answer",
			first:       func(*fake.Clientset, *corev1.Namespace) error { return lost },
			wantCreates: 2, wantCreated: true,
		},
		{
			name: "another's made meanwhile",
			first: func(cs *fake.Clientset, ns *corev1.Namespace) error {
				other := ns.DeepCopy()
				other.Annotations = map[string]string{kube.AnnotationCreateRequest: "another request"}
				if err := cs.Tracker().Create(namespaces, other, ""); err != nil {
					return err
				}
				return lost
			},
			wantCreates: 1,
			wantErr: func(err error) bool {
				var exists *NamespaceExistsError
				return errors.As(err, &exists) && exists.Tenant == "lost"
			},
		},
		{
			name: "answer lost, server gone",
			first: func(cs *fake.Clientset, ns *corev1.Namespace) error {
				if err := cs.Tracker().Create(namespaces, ns, ""); err != nil {
					return err
				}
				return lost
			},
			get:         &kube.NoAnswerError{Host: "https://127.0.0.1:6443", Method: "GET", Path: "/api/v1/namespaces/tenant-lost", Attempts: 9, Err: syscall.ECONNREFUSED},
			wantCreates: 1,
			// Maybe made: recorded, replaced by the next apply.
			wantCreated: true,
			wantErr: func(err error) bool {
				var objErr *kube.ObjectError
				var noAnswer *kube.NoAnswerError
				return errors.As(err, &objErr) && errors.As(err, &noAnswer) && noAnswer.Method == "POST"
			},
		},
		{
			name: "refused",
			first: func(*fake.Clientset, *corev1.Namespace) error {
				return apierrors.NewForbidden(namespaces.GroupResource(), "tenant-lost", nil)
			},
			wantCreates: 1,
			wantErr: func(err error) bool {
				var objErr *kube.ObjectError
				return errors.As(err, &objErr) && apierrors.IsForbidden(err)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newFakeClient()
			c.Dynamic = prunableFake()
			cs := c.Kube.(*fake.Clientset)
			var creates atomic.Int32
			cs.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if creates.Add(1) > 1 {
					return false, nil, nil
				}
				ns := a.(k8stesting.CreateAction).GetObject().(*corev1.Namespace)
				return true, nil, tc.first(cs, ns)
			})
			if tc.get != nil {
				cs.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tc.get
				})
			}
			created, err := c.Create(context.Background(), Spec{Name: "lost", Namespace: "tenant-lost"})
			if got := creates.Load(); got != tc.wantCreates {
				t.Errorf("%d creates sent, want %d", got, tc.wantCreates)
			}
			if created != tc.wantCreated {
				t.Errorf("created = %v, want %v", created, tc.wantCreated)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				ns, err := cs.CoreV1().Namespaces().Get(context.Background(), "tenant-lost", metav1.GetOptions{})
				if err != nil {
					t.Fatalf("the namespace after Create: %v", err)
				}
				if ns.Labels[kube.LabelTenant] != "lost" || ns.Annotations[kube.AnnotationCreateRequest] == "" {
					t.Errorf("the namespace after Create: labels %v, annotations %v", ns.Labels, ns.Annotations)
				}
				return
			}
			if !tc.wantErr(err) {
				t.Errorf("Create: %v (%T)", err, err)
			}
		})
	}
}

// prunableFake is a fake dynamic client that lists the kinds Apply prunes.
func prunableFake() *dynamicfake.FakeDynamicClient {
	kinds := map[schema.GroupVersionResource]string{}
	for _, gvr := range prunable {
		kinds[gvr] = "UnstructuredList"
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds)
}
