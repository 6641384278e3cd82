package simulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
)

// WebhookConfiguration is the ValidatingWebhookConfiguration through which the API server
// asks the simulator, as it asks Kamaji's webhook, whether a TenantControlPlane may be
// written.
const WebhookConfiguration = "qumulus-simulator-kamaji"

const validatePath = "/validate-tenantcontrolplane"

// setupWebhook plays the rules of Kamaji's TenantControlPlane webhook that the provider
// relies on, in the API server's admission chain so that a refused write fails as it does
// against Kamaji: a version downgrade or a skipped minor version (patch releases are not
// compared, as in Kamaji), a dataStore that does not exist, and a dataStore change to a
// DataStore of another driver (Kamaji migrates data only between DataStores of the same
// driver). It serves on loopback with a self-signed certificate whose CA the
// configuration carries.
func (s *Simulator) setupWebhook(cfg *rest.Config) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("simulator webhook: %w", err)
	}
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("simulator webhook: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("simulator webhook: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(validatePath, &admission.Webhook{Handler: admission.HandlerFunc(s.validateTenantControlPlane)})
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	if err := s.mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})); err != nil {
		_ = ln.Close()
		return err
	}

	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	fail, none, equivalent := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Equivalent
	config := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookConfiguration},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "vtenantcontrolplane.simulator.qumulus.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL:      new("https://" + ln.Addr().String() + validatePath),
				CABundle: certPEM,
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{kamaji.Group}, APIVersions: []string{"*"}, Resources: []string{"tenantcontrolplanes"},
				},
			}},
			FailurePolicy:           &fail,
			MatchPolicy:             &equivalent,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          new(int32(10)),
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	existing, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, WebhookConfiguration, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, config, metav1.CreateOptions{})
	case err == nil:
		config.ResourceVersion = existing.ResourceVersion
		_, err = cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, config, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("registering the simulator's Kamaji webhook: %w", err)
	}
	return nil
}

func (s *Simulator) validateTenantControlPlane(ctx context.Context, req admission.Request) admission.Response {
	tcp := &unstructured.Unstructured{}
	if err := tcp.UnmarshalJSON(req.Object.Raw); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if tcp.GetDeletionTimestamp() != nil {
		return admission.Allowed("")
	}
	dataStore, _, _ := unstructured.NestedString(tcp.Object, "spec", "dataStore")
	var newStore *unstructured.Unstructured
	if dataStore != "" {
		ds, err := s.dataStore(ctx, dataStore)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if ds == nil {
			return admission.Denied(fmt.Sprintf("%s DataStore does not exist", dataStore))
		}
		newStore = ds
	}
	if req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	old := &unstructured.Unstructured{}
	if err := old.UnmarshalJSON(req.OldObject.Raw); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if msg := versionChange(nestedString(old, "spec", "kubernetes", "version"), nestedString(tcp, "spec", "kubernetes", "version")); msg != "" {
		return admission.Denied(msg)
	}
	// The DataStore in use is the one Kamaji reports; before it has, the one asked for.
	inUse := nestedString(old, "status", "storage", "dataStoreName")
	if inUse == "" {
		inUse = nestedString(old, "spec", "dataStore")
	}
	if newStore == nil || inUse == "" || inUse == dataStore {
		return admission.Allowed("")
	}
	oldStore, err := s.dataStore(ctx, inUse)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	from, to := nestedString(oldStore, "spec", "driver"), nestedString(newStore, "spec", "driver")
	if oldStore != nil && from != to {
		return admission.Denied(fmt.Sprintf("cannot migrate from DataStore %s (driver %s) to %s (driver %s): Kamaji migrates data only between DataStores of the same driver",
			inUse, from, dataStore, to))
	}
	return admission.Allowed("")
}

// versionChange is Kamaji's rule for spec.kubernetes.version: no downgrade and no skipped
// minor version; patch releases are not compared.
func versionChange(from, to string) string {
	if from == to {
		return ""
	}
	parse := func(s string) (*version.Version, error) {
		v, err := version.ParseSemantic(strings.TrimPrefix(s, "v"))
		if err != nil {
			return nil, err
		}
		return version.MajorMinor(v.Major(), v.Minor()), nil
	}
	oldV, err := parse(from)
	if err != nil {
		return "unable to parse the previous Kubernetes version: " + err.Error()
	}
	newV, err := parse(to)
	if err != nil {
		return "unable to parse the desired Kubernetes version: " + err.Error()
	}
	switch {
	case newV.LessThan(oldV):
		return fmt.Sprintf("unable to downgrade a TenantControlPlane from %s to %s", oldV, newV)
	case newV.Major() != oldV.Major() || newV.Minor() > oldV.Minor()+1:
		return "unable to upgrade to a minor version in a non-sequential mode"
	}
	return ""
}

func nestedString(o *unstructured.Unstructured, path ...string) string {
	if o == nil {
		return ""
	}
	v, _, _ := unstructured.NestedString(o.Object, path...)
	return v
}
