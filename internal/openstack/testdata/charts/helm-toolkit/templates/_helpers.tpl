{{/*
A few of helm-toolkit's snippets, cut down to what the test charts use. The names and
arguments are upstream's, so the charts read like OpenStack-Helm's.
*/}}

{{/* Labels of every object: release_group, application, component. */}}
{{- define "helm-toolkit.snippets.kubernetes_metadata_labels" -}}
{{- $envAll := index . 0 -}}
{{- $application := index . 1 -}}
{{- $component := index . 2 -}}
release_group: {{ $envAll.Values.release_group | default $envAll.Release.Name }}
application: {{ $application }}
component: {{ $component }}
{{- end -}}

{{/* annotations.job.<job>, else annotations.job.default, for a Job's metadata. */}}
{{- define "helm-toolkit.snippets.custom_job_annotations" -}}
{{- $job := index . 0 -}}
{{- $envAll := index . 1 -}}
{{- if hasKey $envAll.Values "annotations" -}}
{{- if hasKey $envAll.Values.annotations "job" -}}
{{- $annotations := $envAll.Values.annotations.job -}}
{{- if index $annotations $job -}}
{{- index $annotations $job | toYaml -}}
{{- else if index $annotations "default" -}}
{{- $annotations.default | toYaml -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The host name of an endpoint: hosts.<endpoint>, else hosts.default. */}}
{{- define "helm-toolkit.endpoints.hostname_short_endpoint_lookup" -}}
{{- $type := index . 0 -}}
{{- $endpoint := index . 1 -}}
{{- $envAll := index . 2 -}}
{{- $ep := index $envAll.Values.endpoints ($type | replace "-" "_") -}}
{{- index $ep.hosts $endpoint | default $ep.hosts.default -}}
{{- end -}}

{{/* <host>.<namespace>.svc.<cluster_domain_suffix>, or host_fqdn_override.<endpoint>. */}}
{{- define "helm-toolkit.endpoints.hostname_fqdn_endpoint_lookup" -}}
{{- $type := index . 0 -}}
{{- $endpoint := index . 1 -}}
{{- $envAll := index . 2 -}}
{{- $ep := index $envAll.Values.endpoints ($type | replace "-" "_") -}}
{{- $override := index ($ep.host_fqdn_override | default dict) $endpoint -}}
{{- if kindIs "map" $override -}}{{- $override = $override.host -}}{{- end -}}
{{- if $override -}}
{{- $override -}}
{{- else -}}
{{- $host := tuple $type $endpoint $envAll | include "helm-toolkit.endpoints.hostname_short_endpoint_lookup" -}}
{{- printf "%s.%s.svc.%s" $host ($ep.namespace | default $envAll.Release.Namespace) $envAll.Values.endpoints.cluster_domain_suffix -}}
{{- end -}}
{{- end -}}

{{/* port.<port>.<endpoint>, else port.<port>.default. */}}
{{- define "helm-toolkit.endpoints.endpoint_port_lookup" -}}
{{- $type := index . 0 -}}
{{- $endpoint := index . 1 -}}
{{- $port := index . 2 -}}
{{- $envAll := index . 3 -}}
{{- $ep := index $envAll.Values.endpoints ($type | replace "-" "_") -}}
{{- $ports := index $ep.port $port -}}
{{- index $ports $endpoint | default $ports.default -}}
{{- end -}}

{{/* scheme://host:port/path of an endpoint; scheme and path are strings or maps by endpoint. */}}
{{- define "helm-toolkit.endpoints.keystone_endpoint_uri_lookup" -}}
{{- $type := index . 0 -}}
{{- $endpoint := index . 1 -}}
{{- $port := index . 2 -}}
{{- $envAll := index . 3 -}}
{{- $ep := index $envAll.Values.endpoints ($type | replace "-" "_") -}}
{{- $scheme := $ep.scheme -}}
{{- if kindIs "map" $scheme -}}{{- $scheme = index $scheme $endpoint | default $scheme.default -}}{{- end -}}
{{- $path := $ep.path -}}
{{- if kindIs "map" $path -}}{{- $path = index $path $endpoint | default $path.default -}}{{- end -}}
{{- printf "%s://%s:%s%s" $scheme (tuple $type $endpoint $envAll | include "helm-toolkit.endpoints.hostname_fqdn_endpoint_lookup") (tuple $type $endpoint $port $envAll | include "helm-toolkit.endpoints.endpoint_port_lookup") ($path | default "") -}}
{{- end -}}

{{/* scheme://user:password@host:port/path, with the credentials of auth.<userclass>. */}}
{{- define "helm-toolkit.endpoints.authenticated_endpoint_uri_lookup" -}}
{{- $type := index . 0 -}}
{{- $endpoint := index . 1 -}}
{{- $userclass := index . 2 -}}
{{- $port := index . 3 -}}
{{- $envAll := index . 4 -}}
{{- $ep := index $envAll.Values.endpoints ($type | replace "-" "_") -}}
{{- $auth := index $ep.auth $userclass -}}
{{- $uri := tuple $type $endpoint $port $envAll | include "helm-toolkit.endpoints.keystone_endpoint_uri_lookup" -}}
{{- $parts := splitList "://" $uri -}}
{{- printf "%s://%s:%s@%s" (first $parts) ($auth.username | urlquery) ($auth.password | urlquery) (last $parts) -}}
{{- end -}}
