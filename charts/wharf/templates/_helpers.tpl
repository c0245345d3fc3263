{{/*
Names and labels shared by every template. Kept to plain string building: no logic lives here that
a reader of a template would need to follow.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "wharf.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every resource name: fullnameOverride, or the release name (plus the chart name unless it is already in it). */}}
{{- define "wharf.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "wharf.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "wharf.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: call with (dict "root" $ "component" "handler"). */}}
{{- define "wharf.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wharf.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image reference every container uses: REPOSITORY:TAG, and @DIGEST when one is set. */}}
{{- define "wharf.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- with .Values.image.digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/*
extraArgs as container args, one "- ARG" line each: a list is taken as it is, a map (ingress-nginx's
form) becomes --KEY=VALUE; --KEY for an empty value or true (wharf's switches take no value), and
nothing for false. Call with the list or map.
*/}}
{{- define "wharf.extraArgs" -}}
{{- if kindIs "map" . }}
{{- range $key, $value := . }}
{{- if has (toString $value) (list "" "true") }}
- {{ printf "--%s" $key | quote }}
{{- else if ne (toString $value) "false" }}
- {{ printf "--%s=%v" $key $value | quote }}
{{- end }}
{{- end }}
{{- else }}
{{- range . }}
- {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Annotations of every wharf ServiceAccount (serviceAccount.annotations), as a metadata entry or nothing. */}}
{{- define "wharf.serviceAccountAnnotations" -}}
{{- with .Values.serviceAccount.annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The peers admitted to scrape /metrics: networkPolicy.metricsFrom, else Prometheus's pods while scraping is on; empty otherwise. */}}
{{- define "wharf.metricsPeers" -}}
{{- if .Values.networkPolicy.metricsFrom }}
{{- toYaml .Values.networkPolicy.metricsFrom }}
{{- else if or .Values.metrics.enabled .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled }}
- namespaceSelector: {}
  podSelector:
    matchLabels:
      app.kubernetes.io/name: prometheus
{{- end }}
{{- end -}}

{{/* Resource names, one place each, so that references between templates cannot drift. */}}
{{- define "wharf.handlerName" -}}{{ include "wharf.fullname" . }}-handler{{- end -}}
{{- define "wharf.admissionName" -}}{{ include "wharf.fullname" . }}-admission{{- end -}}
{{- define "wharf.nginxName" -}}{{ include "wharf.fullname" . }}-nginx{{- end -}}
{{- define "wharf.agentsName" -}}{{ include "wharf.fullname" . }}-agents{{- end -}}
{{- define "wharf.sourceName" -}}{{ include "wharf.fullname" . }}-source{{- end -}}
{{- define "wharf.configName" -}}{{ include "wharf.fullname" . }}-config{{- end -}}
{{- /* ingress-nginx's TCP and UDP services ConfigMaps (values tcp and udp). */ -}}
{{- define "wharf.tcpName" -}}{{ include "wharf.fullname" . }}-tcp{{- end -}}
{{- define "wharf.udpName" -}}{{ include "wharf.fullname" . }}-udp{{- end -}}
{{- /* The container port NGINX serves stream port P on: P + (nginx.ports.http - 80), refused when that is not a port of its own. */ -}}
{{- define "wharf.streamPort" -}}
{{- $at := add .port (sub .root.Values.nginx.ports.http 80) -}}
{{- if or (gt (int $at) 65535) (lt (int $at) 1) (eq (int $at) (int .root.Values.nginx.ports.http)) (eq (int $at) (int .root.Values.nginx.ports.https)) -}}
{{- fail (printf "%s: Invalid value: %v: NGINX would serve it on %v + (nginx.ports.http %v - 80) = %v, which is not a port of its own" .values .port .port .root.Values.nginx.ports.http $at) -}}
{{- end -}}
{{- $at -}}
{{- end -}}
{{- define "wharf.nginxMetricsName" -}}{{ include "wharf.fullname" . }}-nginx-metrics{{- end -}}
{{- define "wharf.handlerMetricsName" -}}{{ include "wharf.fullname" . }}-handler-metrics{{- end -}}
{{- define "wharf.handlerTlsSecret" -}}{{ include "wharf.fullname" . }}-handler-tls{{- end -}}
{{- define "wharf.tokensSecret" -}}{{ default (printf "%s-tokens" (include "wharf.fullname" .)) .Values.tokens.existingSecret }}{{- end -}}

{{/* The handler Service's in-cluster DNS name: the name in its certificate and in every URL that reaches it. */}}
{{- define "wharf.handlerHost" -}}{{ include "wharf.handlerName" . }}.{{ .Release.Namespace }}.svc{{- end -}}
{{- /* The handler's events port as the event source and the NGINX pods reach it (the Service's events port). */ -}}
{{- define "wharf.handlerEventsBase" -}}https://{{ include "wharf.handlerHost" . }}:{{ .Values.handler.eventsPort }}{{- end -}}
