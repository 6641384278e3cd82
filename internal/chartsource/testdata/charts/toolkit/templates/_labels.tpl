{{- define "toolkit.labels" -}}
release_group: {{ .Values.release_group | default .Release.Name }}
application: {{ .Chart.Name }}
{{- end -}}
