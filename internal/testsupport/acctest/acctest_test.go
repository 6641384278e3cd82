package acctest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestMain(m *testing.M) {
	os.Exit(Run(m))
}

func state(resourceType, id string) *terraform.State {
	return &terraform.State{Modules: []*terraform.ModuleState{{
		Path: []string{"root"},
		Resources: map[string]*terraform.ResourceState{
			resourceType + ".test": {Type: resourceType, Primary: &terraform.InstanceState{ID: id}},
		},
	}}}
}

func TestCheckDestroyed(t *testing.T) {
	c := Cluster(t)
	cs := kubernetes.NewForConfigOrDie(c.RESTConfig)
	ctx := context.Background()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "acctest-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "left-behind", Namespace: ns.Name}}
	if _, err := cs.CoreV1().ConfigMaps(ns.Name).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cmGVR := corev1.SchemeGroupVersion.WithResource("configmaps")
	check := CheckDestroyed("qumulus_thing", cmGVR)

	if err := check(state("qumulus_thing", ns.Name+"/left-behind")); err == nil || !strings.Contains(err.Error(), "still exists") {
		t.Fatalf("an object that still exists passed CheckDestroyed: %v", err)
	}
	if err := check(state("qumulus_other", ns.Name+"/left-behind")); err != nil {
		t.Fatalf("resources of other types must be ignored: %v", err)
	}
	if err := cs.CoreV1().ConfigMaps(ns.Name).Delete(ctx, "left-behind", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := check(state("qumulus_thing", ns.Name+"/left-behind")); err != nil {
		t.Fatalf("a deleted object failed CheckDestroyed: %v", err)
	}

	// Cluster-scoped objects are named by the id alone; envtest runs no namespace
	// controller, so a deleted namespace stays Terminating, which must fail the check.
	nsCheck := CheckDestroyed("qumulus_ns", corev1.SchemeGroupVersion.WithResource("namespaces"))
	if err := nsCheck(state("qumulus_ns", ns.Name)); err == nil {
		t.Fatal("an existing namespace passed CheckDestroyed")
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := nsCheck(state("qumulus_ns", ns.Name)); err == nil || !strings.Contains(err.Error(), "being deleted") {
		t.Fatalf("a terminating namespace passed CheckDestroyed: %v", err)
	}
}

func TestHCLString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":         `"plain"`,
		"a\nb":          `"a\nb"`,
		`say "hi"`:      `"say \"hi\""`,
		"${var.x}":      `"$${var.x}"`,
		"%{ if true }x": `"%%{ if true }x"`,
	} {
		if got := HCLString(in); got != want {
			t.Errorf("HCLString(%q) = %s, want %s", in, got, want)
		}
	}
}
