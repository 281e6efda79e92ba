{{/*
Names, labels and the pieces several templates share. The permission rules live here
once, so the ClusterRole (every namespace) and the Roles (listed namespaces) can never
drift apart.
*/}}

{{- define "envpayload-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The object name prefix: the release name, with the chart name unless it holds it. */}}
{{- define "envpayload-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "envpayload-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "envpayload-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "envpayload-operator.labels" -}}
{{ include "envpayload-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "envpayload-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "envpayload-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "envpayload-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "envpayload-operator.peeringName" -}}
{{- default (include "envpayload-operator.fullname" .) .Values.standby.peeringName -}}
{{- end -}}

{{/*
What the operator does in every namespace it serves:
- EnvPayloads: read and watch them, patch them (Kopf's finalizer and annotations) and
  their status;
- Secrets: read and watch them (sources, GitHub credentials, the target), write the
  target with server-side apply (create, patch), and delete the one it wrote under a
  former target name once nothing reads it (delete);
- Events: post them about EnvPayloads and the workloads restarted;
- workloads: find the consumers of a Secret and restart them (a pod template patch).
With standby on, Kopf's per-namespace peering object tells the operators apart.
*/}}
{{- define "envpayload-operator.servingRules" -}}
- apiGroups: [envpayload.io]
  resources: [envpayloads]
  verbs: [get, list, watch, patch]
- apiGroups: [envpayload.io]
  resources: [envpayloads/status]
  verbs: [get, patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, watch, patch]
{{- end -}}

{{- define "envpayload-operator.peeringRules" -}}
- apiGroups: [kopf.dev]
  resources: [{{ . }}]
  verbs: [get, list, watch, patch, create]
{{- end -}}

{{/* The operator's command line. */}}
{{- define "envpayload-operator.args" -}}
- run
{{- if .root.Values.watch.namespaces }}
{{- range .root.Values.watch.namespaces }}
- --namespace={{ . }}
{{- end }}
{{- else }}
- --all-namespaces
{{- end }}
- --liveness=http://0.0.0.0:{{ .root.Values.liveness.port }}/healthz
{{- if .root.Values.standby.enabled }}
- --peering={{ include "envpayload-operator.peeringName" .root }}
- --priority={{ .priority }}
{{- end }}
{{- if .root.Values.verbose }}
- --verbose
{{- end }}
{{- end -}}
