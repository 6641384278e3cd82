// Package capi holds what Qumulus needs of Cluster API (cluster.x-k8s.io) and of Kamaji's
// Cluster API control-plane provider.
package capi

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

const (
	// ControlPlaneGroup and ControlPlaneVersion are Kamaji's control-plane provider API.
	ControlPlaneGroup   = "controlplane.cluster.x-k8s.io"
	ControlPlaneVersion = "v1alpha2"

	// ContractLabel tells Cluster API which of its contracts a provider CRD implements.
	ContractLabel = "cluster.x-k8s.io/v1beta2"
)

var (
	ClusterGVR           = clusterv1.GroupVersion.WithResource("clusters")
	MachineDeploymentGVR = clusterv1.GroupVersion.WithResource("machinedeployments")
	MachineDeploymentGVK = clusterv1.GroupVersion.WithKind("MachineDeployment")

	ControlPlaneGroupVersion = schema.GroupVersion{Group: ControlPlaneGroup, Version: ControlPlaneVersion}
	KamajiControlPlaneGVR    = ControlPlaneGroupVersion.WithResource("kamajicontrolplanes")
	KamajiControlPlaneGVK    = ControlPlaneGroupVersion.WithKind("KamajiControlPlane")
)
