package crds

import (
	"testing"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
)

func TestFallbackKamajiControlPlaneCRD(t *testing.T) {
	t.Parallel()
	crds, err := fromDir(fallbackFS, "fallback")
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 1 || crds[0].Name != "kamajicontrolplanes.controlplane.cluster.x-k8s.io" {
		t.Fatalf("fallback CRDs = %v", crds)
	}
	labelContract(crds)
	if got := crds[0].Labels[capi.ContractLabel]; got != capi.ControlPlaneVersion {
		t.Errorf("contract label = %q, want %q", got, capi.ControlPlaneVersion)
	}
	v := crds[0].Spec.Versions
	if len(v) != 1 || v[0].Name != capi.ControlPlaneVersion || v[0].Subresources == nil || v[0].Subresources.Status == nil {
		t.Errorf("fallback CRD must serve %s with a status subresource: %+v", capi.ControlPlaneVersion, v)
	}
}

func TestDecodeSkipsOtherKinds(t *testing.T) {
	t.Parallel()
	doc := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: things.example.com}\n")
	crds, err := decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 1 || crds[0].Name != "things.example.com" {
		t.Errorf("decode = %v", crds)
	}
}
