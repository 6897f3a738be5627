{{/* The release's full name, the prefix of every object the chart makes. */}}
{{- define "resumable.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "resumable.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "resumable.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "resumable.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "resumable.serviceAccountName" -}}
{{- default (include "resumable.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "resumable.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Where trainer pods run: trainer.namespaces, else the watched namespaces, else the release namespace. */}}
{{- define "resumable.trainerNamespaces" -}}
{{- .Values.trainer.namespaces | default .Values.watchNamespaces | default (list .Release.Namespace) | uniq | toJson -}}
{{- end -}}
