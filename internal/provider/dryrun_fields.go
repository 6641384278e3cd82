package provider

// The fields of the objects each resource writes, mapped to the attributes they come from
// (see objectFields), for the diagnostics of plan-time dry runs.

// metadataFields are the fields every kind shares.
var metadataFields = map[string]string{
	"metadata.name":      "name",
	"metadata.namespace": "namespace",
}

// kamajiAddonFields are spec.addons of a TenantControlPlane and of a KamajiControlPlane.
var kamajiAddonFields = map[string]string{
	"spec.addons.coreDNS":                       "addons.core_dns",
	"spec.addons.coreDNS.imageRepository":       "addons.core_dns.image_repository",
	"spec.addons.coreDNS.imageTag":              "addons.core_dns.image_tag",
	"spec.addons.kubeProxy":                     "addons.kube_proxy",
	"spec.addons.kubeProxy.imageRepository":     "addons.kube_proxy.image_repository",
	"spec.addons.kubeProxy.imageTag":            "addons.kube_proxy.image_tag",
	"spec.addons.konnectivity":                  "addons.konnectivity",
	"spec.addons.konnectivity.server.image":     "addons.konnectivity.server_image",
	"spec.addons.konnectivity.server.version":   "addons.konnectivity.server_version",
	"spec.addons.konnectivity.server.port":      "addons.konnectivity.server_port",
	"spec.addons.konnectivity.server.extraArgs": "addons.konnectivity.server_extra_args[]",
	"spec.addons.konnectivity.agent.image":      "addons.konnectivity.agent_image",
	"spec.addons.konnectivity.agent.version":    "addons.konnectivity.agent_version",
	"spec.addons.konnectivity.agent.mode":       "addons.konnectivity.agent_mode",
	"spec.addons.konnectivity.agent.extraArgs":  "addons.konnectivity.agent_extra_args[]",
	"spec.addons":                                   "addons",
	"metadata.labels":                               "labels{}",
	"metadata.annotations":                          "annotations{}",
	"spec.dataStoreSchema":                          "data_store_schema",
	"spec.dataStoreUsername":                        "data_store_username",
	"spec.kubernetes.kubelet.preferredAddressTypes": "kubelet.preferred_address_types[]",
}

func withFields(tables ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, t := range tables {
		for k, v := range t {
			out[k] = v
		}
	}
	return out
}

// clusterFields are the fields of a cluster's TenantControlPlane, or in Cluster API mode
// its KamajiControlPlane and Cluster.
var clusterFields = objectFields{
	"*": metadataFields,
	"TenantControlPlane": withFields(kamajiAddonFields, map[string]string{
		"spec.kubernetes.version":                                           "version",
		"spec.kubernetes.kubelet.configurationJSONPatches":                  "kubelet.config_patches[]",
		"spec.kubernetes.kubelet":                                           "kubelet",
		"spec.controlPlane.deployment.replicas":                             "replicas",
		"spec.controlPlane.deployment.extraArgs.apiServer":                  "api_server.extra_args[]",
		"spec.controlPlane.deployment.extraArgs.controllerManager":          "controller_manager.extra_args[]",
		"spec.controlPlane.deployment.extraArgs.scheduler":                  "scheduler.extra_args[]",
		"spec.controlPlane.deployment.resources.apiServer.requests":         "api_server.requests{}",
		"spec.controlPlane.deployment.resources.apiServer.limits":           "api_server.limits{}",
		"spec.controlPlane.deployment.resources.controllerManager.requests": "controller_manager.requests{}",
		"spec.controlPlane.deployment.resources.controllerManager.limits":   "controller_manager.limits{}",
		"spec.controlPlane.deployment.resources.scheduler.requests":         "scheduler.requests{}",
		"spec.controlPlane.deployment.resources.scheduler.limits":           "scheduler.limits{}",
		"spec.controlPlane.service.serviceType":                             "network.service_type",
		"spec.controlPlane.service.additionalMetadata.labels":               "network.service_labels{}",
		"spec.controlPlane.service.additionalMetadata.annotations":          "network.service_annotations{}",
		"spec.networkProfile":                                               "network",
		"spec.networkProfile.address":                                       "network.address",
		"spec.networkProfile.advertiseAddress":                              "network.advertise_address",
		"spec.networkProfile.port":                                          "network.port",
		"spec.networkProfile.certSANs":                                      "network.cert_sans[]",
		"spec.networkProfile.serviceCidr":                                   "network.service_cidrs",
		"spec.networkProfile.serviceCidrs":                                  "network.service_cidrs[]",
		"spec.networkProfile.podCidr":                                       "network.pod_cidrs",
		"spec.networkProfile.podCidrs":                                      "network.pod_cidrs[]",
		"spec.networkProfile.dnsServiceIPs":                                 "network.dns_service_ips[]",
		"spec.networkProfile.clusterDomain":                                 "network.cluster_domain",
		"spec.networkProfile.loadBalancerClass":                             "network.load_balancer_class",
		"spec.networkProfile.loadBalancerSourceRanges":                      "network.load_balancer_source_ranges[]",
		"spec.dataStore": "data_store",
	}),
	"KamajiControlPlane": withFields(kamajiAddonFields, map[string]string{
		"spec.version":                                             "version",
		"spec.replicas":                                            "replicas",
		"spec.dataStoreName":                                       "data_store",
		"spec.network":                                             "network",
		"spec.network.serviceType":                                 "network.service_type",
		"spec.network.serviceAddress":                              "network.address",
		"spec.network.advertiseAddress":                            "network.advertise_address",
		"spec.network.serviceLabels":                               "network.service_labels{}",
		"spec.network.serviceAnnotations":                          "network.service_annotations{}",
		"spec.network.certSANs":                                    "network.cert_sans[]",
		"spec.network.dnsServiceIPs":                               "network.dns_service_ips[]",
		"spec.network.loadBalancerConfig.loadBalancerClass":        "network.load_balancer_class",
		"spec.network.loadBalancerConfig.loadBalancerSourceRanges": "network.load_balancer_source_ranges[]",
		"spec.apiServer.extraArgs":                                 "api_server.extra_args[]",
		"spec.apiServer.resources.requests":                        "api_server.requests{}",
		"spec.apiServer.resources.limits":                          "api_server.limits{}",
		"spec.controllerManager.extraArgs":                         "controller_manager.extra_args[]",
		"spec.controllerManager.resources.requests":                "controller_manager.requests{}",
		"spec.controllerManager.resources.limits":                  "controller_manager.limits{}",
		"spec.scheduler.extraArgs":                                 "scheduler.extra_args[]",
		"spec.scheduler.resources.requests":                        "scheduler.requests{}",
		"spec.scheduler.resources.limits":                          "scheduler.limits{}",
		"spec.kubelet":                                             "kubelet",
		"spec.kubelet.preferredAddressTypes":                       "kubelet.preferred_address_types[]",
		"spec.kubelet.configurationJSONPatches":                    "kubelet.config_patches[]",
	}),
	"Cluster": {
		"metadata.labels":                         "labels{}",
		"metadata.annotations":                    "annotations{}",
		"spec.clusterNetwork.pods.cidrBlocks":     "network.pod_cidrs[]",
		"spec.clusterNetwork.services.cidrBlocks": "network.service_cidrs[]",
		"spec.clusterNetwork.serviceDomain":       "network.cluster_domain",
		"spec.clusterNetwork.apiServerPort":       "network.port",
		"spec.clusterNetwork":                     "network",
		"spec.infrastructureRef":                  "cluster_api.infrastructure_ref",
		"spec.infrastructureRef.apiGroup":         "cluster_api.infrastructure_ref.api_group",
		"spec.infrastructureRef.kind":             "cluster_api.infrastructure_ref.kind",
		"spec.infrastructureRef.name":             "cluster_api.infrastructure_ref.name",
		"spec.controlPlaneRef":                    "name",
	},
}

// workerPoolFields are the fields of a worker pool's MachineDeployment, KubeadmConfigTemplate,
// MachineHealthCheck and (under any other kind) generated infrastructure template. The
// templates' names are derived from the pool's: metadata.name maps to name.
var workerPoolFields = objectFields{
	"*": metadataFields,
	"MachineDeployment": {
		"spec.clusterName":                                   "cluster_name",
		"spec.replicas":                                      "replicas",
		"metadata.annotations":                               "autoscaling",
		"spec.template.metadata.labels":                      "node_labels{}",
		"spec.template.spec.clusterName":                     "cluster_name",
		"spec.template.spec.version":                         "version",
		"spec.template.spec.failureDomain":                   "failure_domain",
		"spec.template.spec.infrastructureRef":               "infrastructure",
		"spec.template.spec.infrastructureRef.apiGroup":      "infrastructure.api_group",
		"spec.template.spec.infrastructureRef.kind":          "infrastructure.kind",
		"spec.template.spec.infrastructureRef.name":          "infrastructure.name",
		"spec.rollout":                                       "rollout",
		"spec.rollout.strategy.type":                         "rollout.strategy",
		"spec.rollout.strategy.rollingUpdate.maxSurge":       "rollout.max_surge",
		"spec.rollout.strategy.rollingUpdate.maxUnavailable": "rollout.max_unavailable",
	},
	"KubeadmConfigTemplate": {
		"spec.template.spec.joinConfiguration.nodeRegistration.kubeletExtraArgs": "kubelet_extra_args",
		"spec.template.spec.joinConfiguration.nodeRegistration.taints":           "node_taints[]",
		"spec.template.spec.files":               "files[]",
		"spec.template.spec.preKubeadmCommands":  "pre_kubeadm_commands[]",
		"spec.template.spec.postKubeadmCommands": "post_kubeadm_commands[]",
	},
	"MachineHealthCheck": {
		"spec":                                  "health_check",
		"spec.checks.nodeStartupTimeoutSeconds": "health_check.node_startup_timeout_seconds",
		"spec.checks.unhealthyNodeConditions":   "health_check.unhealthy_node_conditions[]",
		"spec.remediation.triggerIf.unhealthyLessThanOrEqualTo": "health_check.max_unhealthy",
	},
	"": {
		"spec.template.spec": "infrastructure.spec",
	},
}

// tenantFields are the fields of a tenant's Namespace, Roles, RoleBindings,
// NetworkPolicies, ResourceQuota and LimitRange.
var tenantFields = objectFields{
	"Namespace": {
		"metadata.name":        "namespace",
		"metadata.labels":      "labels{}",
		"metadata.annotations": "annotations{}",
	},
	"RoleBinding": {
		"subjects": "members",
		"roleRef":  "members",
	},
	"Role":          {"rules": "members"},
	"NetworkPolicy": {"spec": "network_isolation"},
	"ResourceQuota": {"spec.hard": "quota{}"},
	"LimitRange": {
		"spec.limits":                "limit_range",
		"spec.limits.default":        "limit_range.default{}",
		"spec.limits.defaultRequest": "limit_range.default_request{}",
		"spec.limits.max":            "limit_range.max{}",
		"spec.limits.min":            "limit_range.min{}",
	},
}
