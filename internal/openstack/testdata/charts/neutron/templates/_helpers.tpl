{{/* The Jobs that a component's init container waits for: dependencies.static.<component>.jobs. */}}
{{- define "neutron.dependency_jobs" -}}
{{- $envAll := index . 0 -}}
{{- $deps := index $envAll.Values.dependencies.static (index . 1) -}}
{{- join "," $deps.jobs -}}
{{- end -}}
