{{/*
The objects' name prefix: `gaudi3-scale`, whatever the release is called (the
runbook, alert rules and gameday.yaml name gaudi3-scale-api, -trainer, -config, ...).
*/}}
{{- define "gaudi3-scale.fullname" -}}
{{- .Chart.Name -}}
{{- end }}

{{/*
Labels Helm adds to each object's metadata (never to selectors or pod
templates: selectors are immutable, and a chart bump must not restart pods).
*/}}
{{- define "gaudi3-scale.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* image:tag, an empty tag meaning the chart's appVersion. Argument: (list root repository tag). */}}
{{- define "gaudi3-scale.imageRef" -}}
{{- $root := index . 0 -}}
{{- printf "%s:%s" (index . 1) (toString (index . 2 | default $root.Chart.AppVersion)) -}}
{{- end }}

{{/* The image this release deploys to the API. */}}
{{- define "gaudi3-scale.api.image" -}}
{{- include "gaudi3-scale.imageRef" (list . .Values.image.repository .Values.image.tag) -}}
{{- end }}

{{/*
The stable Deployment's image. A canary release leaves the stable pods on the
image they run now (the live Deployment's container `api`); with nothing to read
(a first install, `helm template`, a client-side dry run) it is image.tag.
*/}}
{{- define "gaudi3-scale.api.stableImage" -}}
{{- $image := include "gaudi3-scale.api.image" . -}}
{{- if eq .Values.deployment.strategy "canary" -}}
{{- $live := lookup "apps/v1" "Deployment" .Release.Namespace (printf "%s-api" (include "gaudi3-scale.fullname" .)) -}}
{{- if $live -}}
{{- range (($live.spec).template).spec.containers -}}
{{- if eq .name "api" }}{{ $image = .image }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $image -}}
{{- end }}

{{/*
Canary pods: none with strategy rolling; with canary, weight percent of
api.replicas rounded up, at least 1.
*/}}
{{- define "gaudi3-scale.api.canaryReplicas" -}}
{{- if eq .Values.deployment.strategy "canary" -}}
{{- max 1 (ceil (divf (mulf .Values.api.replicas .Values.deployment.canary.weight) 100) | int) -}}
{{- else -}}
0
{{- end -}}
{{- end }}

{{/*
One API Deployment: stable or canary. Argument: dict root, name, version, image, replicas.
The two differ only in name, pod label `version`, image and replicas.
*/}}
{{- define "gaudi3-scale.api.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    app.kubernetes.io/name: gaudi3-scale
    app.kubernetes.io/component: api
    app.kubernetes.io/part-of: gaudi3-scale
    {{- include "gaudi3-scale.helmLabels" $root | nindent 4 }}
spec:
  {{- with .comment }}
  {{- . | nindent 2 }}
  {{- end }}
  replicas: {{ .replicas }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  selector:
    matchLabels: {app.kubernetes.io/name: gaudi3-scale, app.kubernetes.io/component: api, version: {{ .version }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: gaudi3-scale, app.kubernetes.io/component: api, app.kubernetes.io/part-of: gaudi3-scale,
               version: {{ .version }}}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8000"
        prometheus.io/path: /metrics
    spec:
      terminationGracePeriodSeconds: 10
      containers:
        - name: api
          image: {{ .image }}
          # gunicorn (PID 1): SIGTERM drains (GAUDI3_API_DRAIN_SECONDS, Connection: close),
          # SIGUSR1 reopens /app/logs/*.log.
          ports:
            - {name: http, containerPort: 8000}
          env:
            # Listen on the pod's own address: in the sandbox several replicas
            # share one host; on a cluster it is the pod's network namespace.
            - {name: GAUDI3_API_HOST, value: "0.0.0.0"}   # every address of the pod (the sandbox without isolation: its IP)
            - {name: GAUDI3_API_PORT, value: "8000"}
            - {name: DATABASE_URL, valueFrom: {secretKeyRef: {name: {{ include "gaudi3-scale.fullname" $root }}-secrets, key: DATABASE_URL}}}
            - {name: GAUDI3_CONFIG_DIR, value: /etc/gaudi3-scale}
            {{- if $root.Values.trainer.enabled }}
            - {name: TRAINER_URL, value: "http://{{ include "gaudi3-scale.fullname" $root }}-trainer.{{ $root.Release.Namespace }}.svc.cluster.local:8080"}
            {{- end }}
            - {name: GAUDI3_DEFAULT_JOB_STEPS, value: {{ $root.Values.api.defaultJobSteps | toString | quote }}}
            # gunicorn's access.log and error.log (the runbook's log rotation).
            - {name: GAUDI3_LOG_DIR, value: /app/logs}
          volumeMounts:
            - {name: config, mountPath: /etc/gaudi3-scale, readOnly: true}
            - {name: logs, mountPath: /app/logs}
          readinessProbe:
            httpGet: {path: /health, port: 8000}
            periodSeconds: 2
            timeoutSeconds: 2
            failureThreshold: 2
          livenessProbe:
            httpGet: {path: /health, port: 8000}
            initialDelaySeconds: 5
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 3
          resources:
            {{- toYaml $root.Values.api.resources | nindent 12 }}
      volumes:
        - name: config
          configMap: {name: {{ include "gaudi3-scale.fullname" $root }}-config}
        - name: logs
          emptyDir: {sizeLimit: 1Gi}
{{- end }}
